/* car_ota.c: being written. */
