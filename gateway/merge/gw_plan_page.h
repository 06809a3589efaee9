/*
 * gw_plan_page.h - the merger review page (GET /ui/plans, gw_plan.h's
 * gw_plan_page) as data: the page's octets and the Content-Security-Policy
 * that lets exactly its own inline script and style run.
 *
 * The page's source is gateway/merge/plan_page.html, one self-contained
 * document (inline CSS and JS, no external resource); the build embeds it
 * (gateway/merge/embed.cmake), so the daemon needs no file at run time and
 * the page cannot drift from the binary that serves it.
 *
 * The policy allows scripts and styles from 'self' and the one inline
 * <script> and <style> by their SHA-256 (CSP Level 2 hash sources), never
 * 'unsafe-inline': text that reached the DOM as markup still would not run.
 * Whatever the page opens as a blob (a unit's printable bundle) inherits the
 * policy, so the page applies a bundle's styles through the CSSOM
 * (constructed style sheets), which style-src does not govern.
 */
#ifndef SIMPKI_GW_PLAN_PAGE_H
#define SIMPKI_GW_PLAN_PAGE_H

#include <stddef.h>

/* The page, NUL-terminated, static (never freed); *len its length without the NUL. */
const char *gw_plan_page_html(size_t *len);

/*
 * The page's Content-Security-Policy into out (cap octets with the NUL;
 * 512 is plenty).  0, or -1 when it does not fit or the page does not have
 * exactly one <script> and one <style> element (a broken build: the test
 * test_gw_plan_page fails on it first).
 */
int gw_plan_page_csp(char *out, size_t cap) __attribute__((warn_unused_result));

#endif /* SIMPKI_GW_PLAN_PAGE_H */
