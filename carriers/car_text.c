/* car_text.c: being written. */
