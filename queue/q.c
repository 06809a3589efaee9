/* q.c: being written. */
