/*
 * test_csv.c - config/csv.c: RFC 4180 framing (quotes, doubled quotes, line
 * breaks in fields, CRLF/LF/CR, a byte order mark), the line each record
 * starts on, and every refusal with framing resumed on the next line.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csv.h"

/* One frame result, as text: "OK 1 [a|b]", "BAD 3", "UNTERMINATED 4", "END". */
static void frame_all(const char *text, size_t max, char *out, size_t cap)
{
    size_t len = strlen(text), o = 0;
    char *buf = malloc(len + 1);
    struct csv *c;

    memcpy(buf, text, len);
    buf[len] = 'x'; /* not a NUL: the framer terminates the last field there */
    c = csv_new(buf, len, max);
    out[0] = '\0';
    for (;;) {
        char **f;
        size_t nf, line = 0;
        enum csv_err e = csv_next(c, &f, &nf, &line);
        if (e == CSV_END) {
            o += (size_t)snprintf(out + o, cap - o, "END");
            break;
        }
        if (e == CSV_OK) {
            o += (size_t)snprintf(out + o, cap - o, "OK %zu [", line);
            for (size_t i = 0; i < nf; i++)
                o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "|" : "", f[i]);
            o += (size_t)snprintf(out + o, cap - o, "] ");
        } else {
            CHECK(csv_why(c)[0] != '\0');
            o += (size_t)snprintf(out + o, cap - o, "%s %zu ", e == CSV_BAD ? "BAD" : "UNTERMINATED", line);
        }
    }
    csv_free(c);
    free(buf);
}

#define FRAMES(text, expect)                      \
    do {                                          \
        char got_[1024];                          \
        frame_all((text), 0, got_, sizeof(got_)); \
        CHECK_EQ_STR(got_, (expect));             \
    } while (0)

int main(void)
{
    char got[1024];

    FRAMES("", "END");
    FRAMES("a,b,c\n1,2,3\n", "OK 1 [a|b|c] OK 2 [1|2|3] END");
    FRAMES("a,b\r\n1,2", "OK 1 [a|b] OK 2 [1|2] END");
    FRAMES("a\rb\rc", "OK 1 [a] OK 2 [b] OK 3 [c] END");
    FRAMES("\xEF\xBB\xBF"
           "a,b\n",
           "OK 1 [a|b] END");
    FRAMES("a,,\n,\n\n", "OK 1 [a||] OK 2 [|] OK 3 [] END");
    /* Quotes: commas, doubled quotes, line breaks (counted), empty quoted fields. */
    FRAMES("\"a,b\",\"say \"\"hi\"\"\"\n", "OK 1 [a,b|say \"hi\"] END");
    FRAMES("\"x\ny\nz\",1\nnext,2\n", "OK 1 [x\ny\nz|1] OK 4 [next|2] END");
    FRAMES("\"\",\"\"\n", "OK 1 [|] END");
    FRAMES("\"Đơn vị \"\"cũ\"\"\"", "OK 1 [Đơn vị \"cũ\"] END");
    FRAMES("\"a\r\nb\"\r\nc\r\n", "OK 1 [a\r\nb] OK 3 [c] END");
    /* Refusals, each followed by the next line framed as usual. */
    FRAMES("a,b\"c,d\ne,f\n", "BAD 1 OK 2 [e|f] END");
    FRAMES("\"a\"b,c\ne\n", "BAD 1 OK 2 [e] END");
    FRAMES("\"a\" ,c\ne\n", "BAD 1 OK 2 [e] END");
    FRAMES("a,\"b\nc\nd\n", "UNTERMINATED 1 OK 2 [c] OK 3 [d] END");
    FRAMES("x\n\"\"\"\ny\n", "OK 1 [x] UNTERMINATED 2 OK 3 [y] END");
    FRAMES("1,\"q\nr\",\"s\nt\n", "UNTERMINATED 1 OK 3 [t] END");
    {
        /* A NUL, unquoted and quoted. */
        static const char t1[] = "a,b\0c\nd\n", t2[] = "\"a\0\",b\nd\n";
        struct csv *c;
        char **f, buf[16];
        size_t nf, line;

        memcpy(buf, t1, sizeof(t1));
        c = csv_new(buf, sizeof(t1) - 1, 0);
        CHECK_EQ_INT(csv_next(c, &f, &nf, &line), CSV_BAD);
        CHECK_EQ_INT(line, 1);
        CHECK_EQ_INT(csv_next(c, &f, &nf, &line), CSV_OK);
        CHECK_EQ_INT(line, 2);
        CHECK_EQ_STR(f[0], "d");
        CHECK_EQ_INT(csv_next(c, &f, &nf, &line), CSV_END);
        csv_free(c);
        memcpy(buf, t2, sizeof(t2));
        c = csv_new(buf, sizeof(t2) - 1, 0);
        CHECK_EQ_INT(csv_next(c, &f, &nf, &line), CSV_BAD);
        CHECK_EQ_INT(csv_next(c, &f, &nf, &line), CSV_OK);
        CHECK_EQ_STR(f[0], "d");
        csv_free(c);
        /* A NUL right after a closing quote is not a separator. */
        memcpy(buf, "\"a\"\0,b\nd\n", 10);
        c = csv_new(buf, 9, 0);
        CHECK_EQ_INT(csv_next(c, &f, &nf, &line), CSV_BAD);
        csv_free(c);
    }
    /* The field limit. */
    frame_all("a,b,c\na,b\n", 2, got, sizeof(got));
    CHECK_EQ_STR(got, "BAD 1 OK 2 [a|b] END");
    /* Blank records. */
    {
        char *blank[] = {"", ""}, *full[] = {"", "x"};
        CHECK(csv_blank(blank, 2));
        CHECK(!csv_blank(full, 2));
    }
    csv_free(NULL);
    return check_report("test_csv");
}
