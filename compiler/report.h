/* report.h: `ganc report RUN_DIR... -o report.html` (see report.c, docs/cli.md section 8). */
#ifndef GANC_REPORT_H
#define GANC_REPORT_H

/* The command's arguments after the word `report`; the exit status. */
int report_command(int argc, char **argv);

#endif
