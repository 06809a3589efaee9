/* car_spka.c: being written. */
