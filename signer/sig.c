/* sig.c: being written. */
