/* car.c: being written. */
