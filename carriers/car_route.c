/* car_route.c: being written. */
