/* q_sync.c: being written. */
