/* cfg.c: being written. */
