/* car_pdu.c: being written. */
