/* car_smpp.c: being written. */
