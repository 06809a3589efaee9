/*
 * gw_admin_events.h - simpki-admin's commands on the evidence archive in
 * PostgreSQL (docs/archive.md, "Search" and "Retention and export"):
 *
 *   events [--msisdn N] [--rp NAME] [--serial HEX] [--txn ID] [--request ID] [--kind sign|cert]
 *          [--from DATE] [--to DATE] [--limit N] [--csv] [--unmask] [--explain]
 *   archive-export --kind sign|cert --month YYYY-MM [--out FILE]
 *   archive-drop --kind sign|cert --month YYYY-MM --yes
 *
 * All need -c CONFIG (its "archive" section: conninfo, password_file) and
 * connect with ar_db_open.
 *
 * events: filters are ANDed, each a parameter of one query
 * (PQexecParams), each on an index of archive_events: --msisdn (any form
 * car_msisdn_normalise takes) on archive_events_msisdn, --rp on
 * archive_events_rp, --serial (hex, any case, ':' and spaces ignored; the
 * archive keeps it uppercase) on archive_events_serial, --txn (a
 * transaction's id: its signature and receipt events) on archive_events_txn,
 * --request (a certificate request's id: its events "<id>.<rev>") on
 * archive_events_request; --kind and --from/--to prune partitions.  A DATE is
 * YYYY-MM-DD (UTC; as --to the whole day is included) or RFC 3339
 * (2026-01-05T08:00:00Z, 2026-01-05T15:00:00+07:00).  The oldest --limit
 * (default 100, at most 100000) events, oldest first.  --explain prints
 * PostgreSQL's plan of the query instead of running it.
 *
 * Output: a table (time UTC, kind, type, transaction or request id, relying
 * party, number masked 8491***678 unless --unmask, result or state, serial),
 * or with --csv every field in full, RFC 4180 with a header line.  Rows
 * found beyond --limit are announced on stderr ("note: ..."), so a cut list
 * is never taken for the whole.
 *
 * archive-export writes one month's partition of one kind as CSV (header
 * line; record "event" rows in seq order, then the chain's "head" row, then
 * its "anchor" rows): bodies base64, hashes hex, so that the file alone
 * verifies (docs/archive.md).  --out FILE is created (never overwritten) and
 * synced; without it, stdout.
 *
 * archive-drop drops that month with its chain (archive_drop_partition,
 * how 'exported'); refused without --yes and for a month not yet over.
 * Prints the dropped chain's last seq and head, to compare with the export's.
 *
 * Exit status: 0 ok (events: also when nothing matched), 1 failed (the
 * archive unreachable, a query refused, nothing to export or drop), 2 a
 * wrong command line.
 */
#ifndef SIMPKI_GW_ADMIN_EVENTS_H
#define SIMPKI_GW_ADMIN_EVENTS_H

#include "gw_admin.h"

/* argv: what follows the command's name; cfg_path: -c (NULL is a usage error). */
enum gw_admin_exit gw_admin_events(const char *cfg_path, int argc, char **argv);
enum gw_admin_exit gw_admin_archive_export(const char *cfg_path, int argc, char **argv);
enum gw_admin_exit gw_admin_archive_drop(const char *cfg_path, int argc, char **argv);

/* The usage lines of these commands, for simpki-admin help. */
extern const char gw_admin_events_usage[];

#endif /* SIMPKI_GW_ADMIN_EVENTS_H */
