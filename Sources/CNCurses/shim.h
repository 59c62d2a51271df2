#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H

/* Wide-character API (cchar_t, get_wch, add_wch). */
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif

#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <langinfo.h>
#include <ncursesw/curses.h>

/* Swift 6 refuses direct reads of mutable C globals; these wrap them. */
static inline WINDOW *cn_stdscr(void) { return stdscr; }
static inline int cn_lines(void) { return LINES; }
static inline int cn_cols(void) { return COLS; }
static inline int cn_colors(void) { return COLORS; }
static inline int cn_color_pairs(void) { return COLOR_PAIRS; }

static inline void cn_getmaxyx(WINDOW *w, int *y, int *x) { getmaxyx(w, *y, *x); }

/* Attribute bits are macros Swift cannot import. */
static const unsigned int CN_A_NORMAL = (unsigned int)A_NORMAL;
static const unsigned int CN_A_BOLD = (unsigned int)A_BOLD;
static const unsigned int CN_A_REVERSE = (unsigned int)A_REVERSE;
static const unsigned int CN_A_UNDERLINE = (unsigned int)A_UNDERLINE;
static const unsigned int CN_A_DIM = (unsigned int)A_DIM;
static const unsigned int CN_A_STANDOUT = (unsigned int)A_STANDOUT;

/* Mouse constants. */
static const unsigned long CN_ALL_MOUSE_EVENTS = (unsigned long)(ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION);
static const unsigned long CN_BUTTON1_PRESSED = (unsigned long)BUTTON1_PRESSED;
static const unsigned long CN_BUTTON1_CLICKED = (unsigned long)BUTTON1_CLICKED;
static const unsigned long CN_BUTTON4_PRESSED = (unsigned long)BUTTON4_PRESSED;
#ifdef BUTTON5_PRESSED
static const unsigned long CN_BUTTON5_PRESSED = (unsigned long)BUTTON5_PRESSED;
#else
static const unsigned long CN_BUTTON5_PRESSED = 0;
#endif

/* Whether the locale's character set is UTF-8 (else line drawing falls back to ASCII). */
static inline int cn_locale_is_utf8(void) {
    const char *codeset = nl_langinfo(CODESET);
    return codeset != NULL && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

/* Restores the terminal when the process dies of a signal (a crash or an uncaught SIGTERM path): end curses mode,
   then let the signal do what it would have done. */
static void cn_restore_and_reraise(int signo) {
    endwin();
    signal(signo, SIG_DFL);
    raise(signo);
}

static inline void cn_install_crash_restore(void) {
    int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE };
    for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_handler = cn_restore_and_reraise;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND;
        sigaction(signals[i], &action, NULL);
    }
}

/* Writes raw bytes to the terminal (OSC 52 clipboard), bypassing curses. */
static inline void cn_write_tty(const char *bytes, size_t count) {
    (void)write(STDOUT_FILENO, bytes, count);
}

#endif
