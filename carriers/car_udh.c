/* car_udh.c: being written. */
