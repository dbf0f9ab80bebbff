/* portico-txt2dbm: builds the GDBM file a "RewriteMap name dbm:path" reads from a text map,
 * with httxt2dbm's command line, input format, messages and exit codes:
 *   portico-txt2dbm [-v] [-f DBM_TYPE] -i SOURCE_TXT -o OUTPUT_DBM
 * Lines are read as txt: maps read them (at most 1024 bytes per read, '#' or leading
 * whitespace = skipped, key = first token, value = second token, the rest ignored). An
 * existing output file is updated, not truncated; a key given twice keeps the last value
 * (httxt2dbm stores with replace). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TXT_LINE_MAX 1024 /* mod_rewrite's REWRITE_MAX_TXT_MAP_LINE */

static const char *shortname = "portico-txt2dbm";
static int verbose;

static void usage(void)
{
    fprintf(stderr,
            "%s -- Program to Create DBM Files for use by RewriteMap\n"
            "Usage: %s [-v] [-f format] -i SOURCE_TXT -o OUTPUT_DBM\n"
            "\n"
            "Options: \n"
            " -v    More verbose output\n"
            "\n"
            " -i    Source Text File. If '-', use stdin.\n"
            "\n"
            " -o    Output DBM.\n"
            "\n"
            " -f    DBM Format.  If not specified, will use the default (GDBM).\n"
            "           GDBM for GDBM files (available)\n"
            "           SDBM for SDBM files (unavailable)\n"
            "           DB   for berkeley DB files (unavailable)\n"
            "           NDBM for NDBM files (unavailable)\n"
            "           default for the default DBM type\n"
            "\n",
            shortname, shortname);
}

/* Returns 0, or -1 with the message in err. */
static int to_dbm(GDBM_FILE db, FILE *in, char *err, size_t errlen)
{
    char line[TXT_LINE_MAX + 1];
    while (fgets(line, sizeof(line), in) != NULL) {
        if (line[0] == '#' || line[0] == '\0' || isspace((unsigned char)line[0]))
            continue;
        char *c = line;
        while (*c != '\0' && !isspace((unsigned char)*c))
            c++;
        if (*c == '\0') /* no value: a solid line of data */
            continue;
        datum key = {line, (int)(c - line)};
        while (*c != '\0' && isspace((unsigned char)*c))
            c++;
        if (*c == '\0')
            continue;
        char *value = c;
        while (*c != '\0' && !isspace((unsigned char)*c))
            c++;
        datum val = {value, (int)(c - value)};
        if (verbose)
            fprintf(stderr, "    '%.*s' -> '%.*s'\n", key.dsize, key.dptr, val.dsize, val.dptr);
        if (gdbm_store(db, key, val, GDBM_REPLACE) != 0) {
            snprintf(err, errlen, "(%d) %s", (int)gdbm_errno, gdbm_strerror(gdbm_errno));
            return -1;
        }
    }
    if (ferror(in)) {
        snprintf(err, errlen, "(%d) %s", errno, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *format = NULL, *input = NULL, *output = NULL;
    if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0') {
        const char *slash = strrchr(argv[0], '/');
        shortname = slash != NULL ? slash + 1 : argv[0];
    }
    if (argc <= 1) {
        usage();
        return 1;
    }

    opterr = 0; /* httxt2dbm's own wording below */
    int ch;
    while ((ch = getopt(argc, argv, "vf:i:o:")) != -1) {
        const char **slot = NULL;
        const char *name = NULL;
        switch (ch) {
        case 'v':
            if (verbose) {
                fputs("Error: -v can only be passed once\n\n", stderr);
                usage();
                return 1;
            }
            verbose = 1;
            continue;
        case 'f':
            slot = &format, name = "-f";
            break;
        case 'i':
            slot = &input, name = "-i";
            break;
        case 'o':
            slot = &output, name = "-o";
            break;
        default:
            fputs("Error: Parsing Arguments Failed\n\n", stderr);
            usage();
            return 1;
        }
        if (*slot != NULL) {
            fprintf(stderr, "Error: %s can only be passed once\n\n", name);
            usage();
            return 1;
        }
        *slot = optarg;
    }
    if (optind < argc) {
        fputs("Error: Parsing Arguments Failed\n\n", stderr);
        usage();
        return 1;
    }
    if (input == NULL) {
        fputs("Error: No input file specified.\n\n", stderr);
        usage();
        return 1;
    }
    if (output == NULL) {
        fputs("Error: No output DBM specified.\n\n", stderr);
        usage();
        return 1;
    }
    if (format == NULL)
        format = "default";
    if (verbose)
        fprintf(stderr, "DBM Format: %s\n", format);

    FILE *in = strcmp(input, "-") == 0 ? stdin : fopen(input, "r");
    if (in == NULL) {
        int e = errno;
        fprintf(stderr, "Error: Cannot open input file '%s': (%d) %s\n\n", input, e, strerror(e));
        return 1;
    }
    if (verbose)
        fprintf(stderr, "Input File: %s\n", input);

    if (strcasecmp(format, "gdbm") != 0 && strcasecmp(format, "default") != 0) {
        fprintf(stderr,
                "Error: The requested DBM Format '%s' is not available.\n"
                "(portico is built with GDBM only: use -f GDBM or -f default)\n\n",
                format);
        return 1;
    }

    GDBM_FILE db = gdbm_open(output, 0, GDBM_WRCREAT, 0644, NULL);
    if (db == NULL) {
        int ge = (int)gdbm_errno;
        const char *msg = gdbm_strerror(gdbm_errno);
        if (gdbm_check_syserr(gdbm_errno) && errno != 0)
            fprintf(stderr, "Error: Cannot open output DBM '%s': (%d) %s: %s\n\n", output, ge, msg,
                    strerror(errno));
        else
            fprintf(stderr, "Error: Cannot open output DBM '%s': (%d) %s\n\n", output, ge, msg);
        return 1;
    }
    if (verbose)
        fprintf(stderr, "DBM File: %s\n", output);

    char err[256];
    if (to_dbm(db, in, err, sizeof(err)) != 0) {
        fprintf(stderr, "Error: Converting to DBM: %s\n\n", err);
        gdbm_close(db);
        return 1;
    }
    if (gdbm_close(db) != 0) {
        fprintf(stderr, "Error: Converting to DBM: (%d) %s\n\n", (int)gdbm_errno,
                gdbm_strerror(gdbm_errno));
        return 1;
    }
    if (in != stdin)
        fclose(in);
    if (verbose)
        fputs("Conversion Complete.\n", stderr);
    return 0;
}
