/* sh.c: the tinyos shell.
 *
 * Reads a line, splits it into jobs and runs them one after the other:
 *   line     := job (';' job | '&' job)*        '#' starts a comment
 *   job      := stage ('|' stage)* ['&']        '&': do not wait for it
 *   stage    := (word | '<' word | '>' word | '>>' word)+
 * A word is a run of characters other than blanks and < > | & ; with optional
 * "..." or '...' parts that may hold any of those (no escapes).  A command name
 * without '/' runs /bin/<name>.  `cd`, `exit`, `help` and `history` are built
 * in.  End of input ends the shell.
 *
 * On the console (fd 0 a device) the shell is interactive: the prompt `tinyos# `
 * goes to fd 2, lines are edited here with the console in TTY_RAW (left/right,
 * Home/End, backspace/delete, ^U, up/down through the last HISTORY lines, ^C
 * drops the line, ^D on an empty line ends input), and each job runs in its own
 * process group made the console's foreground one, so ^C interrupts the job and
 * not the shell.  The console is back in TTY_COOKED while a job runs.
 */
#include "ulib.h"

#define LINE_MAX   256
#define MAXSTAGES  8
#define HISTORY    32

static int interactive;   /* fd 0 is the console */

enum token { T_END, T_WORD, T_IN, T_OUT, T_APPEND, T_PIPE, T_BG, T_SEMI, T_ERR };

struct stage {
    char *argv[MAXARG + 1];   /* NULL-terminated */
    int argc;
    char *in, *out;           /* redirections, or NULL */
    int append;               /* '>>' rather than '>' */
};

struct job {
    struct stage st[MAXSTAGES];
    int n;                    /* stages */
    int background;
};

/* Words of the current line, NUL-terminated one after the other.  Quotes and
 * separators are dropped and each word gains one NUL, so twice the line fits. */
static char words[2 * LINE_MAX + 2];
static char *wp;

/* The next token at *pp; a word is copied to `words` and returned in *word. */
static enum token next_token(char **pp, char **word)
{
    char *p = *pp;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    enum token t = T_WORD;
    switch (*p) {
    case 0:   t = T_END; break;
    case '#': t = T_END; p += strlen(p); break;
    case '<': t = T_IN; p++; break;
    case '>': t = p[1] == '>' ? T_APPEND : T_OUT; p += t == T_APPEND ? 2 : 1; break;
    case '|': t = T_PIPE; p++; break;
    case '&': t = T_BG; p++; break;
    case ';': t = T_SEMI; p++; break;
    }
    if (t == T_WORD) {
        *word = wp;
        while (*p && !strchr(" \t\r\n<>|&;", *p)) {
            if (*p != '"' && *p != '\'') {
                *wp++ = *p++;
                continue;
            }
            char quote = *p++;
            while (*p && *p != quote)
                *wp++ = *p++;
            if (*p == 0) {
                fprintf(2, "sh: unterminated %c\n", quote);
                return T_ERR;
            }
            p++;
        }
        *wp++ = 0;
    }
    *pp = p;
    return t;
}

/* Parse one job from *pp, leaving *pp after it.  1: a job; 0: nothing there; -1: error (reported). */
static int parse_job(char **pp, struct job *j)
{
    memset(j, 0, sizeof *j);
    struct stage *s = &j->st[0];
    j->n = 1;
    char *w;
    for (;;) {
        enum token t = next_token(pp, &w);
        switch (t) {
        case T_WORD:
            if (s->argc == MAXARG) {
                fprintf(2, "sh: too many arguments\n");
                return -1;
            }
            s->argv[s->argc++] = w;
            continue;
        case T_IN:
        case T_OUT:
        case T_APPEND:
            if (next_token(pp, &w) != T_WORD) {
                fprintf(2, "sh: syntax error: %s needs a file name\n", t == T_IN ? "<" : t == T_OUT ? ">" : ">>");
                return -1;
            }
            if (t == T_IN)
                s->in = w;
            else
                s->out = w, s->append = t == T_APPEND;
            continue;
        case T_PIPE:
            if (s->argc == 0) {
                fprintf(2, "sh: syntax error: missing command before |\n");
                return -1;
            }
            if (j->n == MAXSTAGES) {
                fprintf(2, "sh: too many pipeline stages\n");
                return -1;
            }
            s = &j->st[j->n++];
            continue;
        case T_ERR:
            return -1;
        case T_BG:
            j->background = 1;
            break;
        case T_END:
        case T_SEMI:
            break;
        }
        break;
    }
    if (j->n == 1 && s->argc == 0 && !s->in && !s->out && !j->background)
        return 0;
    for (int i = 0; i < j->n; i++) {
        if (j->st[i].argc == 0) {
            fprintf(2, "sh: syntax error: missing command\n");
            return -1;
        }
    }
    return 1;
}

/* Put the open file `fd` at descriptor `target`.  Fds below target are open. */
static void move_fd(int fd, int target)
{
    if (fd == target)
        return;
    close(target);
    dup(fd);
    close(fd);
}

static void redirect(const char *path, int flags, int target)
{
    int fd = open(path, flags);
    if (fd < 0) {
        fprintf(2, "sh: %s: cannot open\n", path);
        exit(1);
    }
    move_fd(fd, target);
}

static char history[HISTORY][LINE_MAX];   /* ring of entered lines, without '\n' */
static int nhistory;                      /* lines entered so far */

static void help(void)
{
    printf("tinyos shell.  Built in: cd [DIR], exit [STATUS], help, history.\n"
           "Programs in /bin: run `ls /bin`; a name with '/' runs that file.\n"
           "Syntax: cmd args < in > out >> append, cmd | cmd, cmd & (background), cmd ; cmd, # comment,\n"
           "        \"quoted words\" or 'quoted words'.\n"
           "Keys: Up/Down history, Left/Right/Home/End move, Backspace/Delete, ^U clears the line,\n"
           "      ^C interrupts the running program, ^D ends input (a program's, or the shell's on an\n"
           "      empty line: init starts a new one).  On pyhv, C-a x leaves the machine.\n");
}

/* `cd`, `exit`, `help`, `history`: 1 if argv was one of them (run here, in this process). */
static int builtin(char **argv, int argc)
{
    if (strcmp(argv[0], "cd") == 0) {
        const char *dir = argc > 1 ? argv[1] : "/";
        if (chdir(dir) < 0)
            fprintf(2, "sh: cd: %s: no such directory\n", dir);
        return 1;
    }
    if (strcmp(argv[0], "exit") == 0)
        exit(argc > 1 ? atoi(argv[1]) : 0);
    if (strcmp(argv[0], "help") == 0) {
        help();
        return 1;
    }
    if (strcmp(argv[0], "history") == 0) {
        int first = nhistory > HISTORY ? nhistory - HISTORY : 0;
        for (int i = first; i < nhistory; i++)
            printf("%5d  %s\n", i + 1, history[i % HISTORY]);
        return 1;
    }
    return 0;
}

/* In a child: redirections, then the program; never returns. */
static void run_stage(struct stage *s)
{
    if (s->in)
        redirect(s->in, O_RDONLY, 0);
    if (s->out)
        redirect(s->out, O_WRONLY | O_CREATE | (s->append ? O_APPEND : O_TRUNC), 1);
    if (builtin(s->argv, s->argc))
        exit(0);
    char path[MAXPATH];
    if (strchr(s->argv[0], '/'))
        snprintf(path, sizeof path, "%s", s->argv[0]);
    else
        snprintf(path, sizeof path, "/bin/%s", s->argv[0]);
    exec(path, s->argv);
    fprintf(2, "sh: %s: not found\n", s->argv[0]);
    exit(127);
}

/* In the job's process: one child per stage, joined by pipes; waits for them
 * all and returns the last stage's exit status. */
static int run_pipeline(struct job *j)
{
    int pids[MAXSTAGES], started = 0, prev = -1, last_status = 1;
    for (int i = 0; i < j->n; i++) {
        int p[2] = {-1, -1};
        if (i + 1 < j->n && pipe(p) < 0) {
            fprintf(2, "sh: pipe failed\n");
            break;
        }
        int pid = fork();
        if (pid == 0) {
            if (prev >= 0)
                move_fd(prev, 0);
            if (p[1] >= 0) {
                close(p[0]);
                move_fd(p[1], 1);
            }
            run_stage(&j->st[i]);
        }
        if (prev >= 0)
            close(prev);
        if (p[1] >= 0)
            close(p[1]);
        prev = p[0];
        if (pid < 0) {
            fprintf(2, "sh: fork failed\n");
            break;
        }
        pids[started++] = pid;
    }
    if (prev >= 0)
        close(prev);
    for (int left = started; left > 0; left--) {
        int status = 0, pid = wait(&status);
        if (pid < 0)
            break;
        if (pid == pids[started - 1])
            last_status = status;
    }
    return last_status;
}

static void run_job(struct job *j)
{
    if (!j->background && j->n == 1 && builtin(j->st[0].argv, j->st[0].argc))
        return;
    int pid = fork();
    if (pid < 0) {
        fprintf(2, "sh: fork failed\n");
        return;
    }
    if (pid == 0) {
        /* The job's own process group, the console's foreground one unless in the
         * background: set here and in the parent, so it holds whichever runs first. */
        if (interactive) {
            setpgid(0, 0);
            if (!j->background)
                tcsetpgrp(0, getpid());
        }
        if (j->background) {   /* the job runs in a grandchild that init will reap */
            int bg = fork();
            if (bg < 0) {
                fprintf(2, "sh: fork failed\n");
                exit(1);
            }
            if (bg > 0) {
                printf("[%d]\n", bg);
                exit(0);
            }
        }
        if (j->n == 1)
            run_stage(&j->st[0]);
        exit(run_pipeline(j));
    }
    if (interactive) {
        setpgid(pid, pid);
        if (!j->background)
            tcsetpgrp(0, pid);
    }
    int w, status;
    while ((w = wait(&status)) >= 0 && w != pid)
        ;
    if (interactive)
        tcsetpgrp(0, 0);    /* the shell reads: ^C only drops the typed line */
}

/* ---- the line editor (interactive only; the console in TTY_RAW) ------------------ */

static void out(const char *s, int n)
{
    write(2, s, n);
}

static void backs(int n)
{
    while (n-- > 0)
        out("\b", 1);
}

static int key(void)
{
    unsigned char c;
    return read(0, &c, 1) == 1 ? c : -1;
}

/* Show line (len bytes) in place of the one on the screen (old bytes, cursor at
 * *cur), leaving the cursor at its end. */
static void replace_line(char *line, const char *with, int *len, int *cur)
{
    int n = strlen(with), old = *len;
    backs(*cur);
    memmove(line, with, n);
    out(line, n);
    for (int i = n; i < old; i++)
        out(" ", 1);
    backs(old > n ? old - n : 0);
    *len = *cur = n;
}

/* Read and edit one line into buf (max bytes with '\n' and NUL): its length with
 * the '\n', or 0 at end of input. */
static int edit_line(char *buf, int max)
{
    static char draft[LINE_MAX];  /* the line being typed, while browsing the history */
    int len = 0, cur = 0, h = nhistory;
    int oldest = nhistory > HISTORY ? nhistory - HISTORY : 0;
    for (;;) {
        int c = key();
        if (c < 0 || (c == 4 && len == 0)) {          /* ^D on an empty line: end of input */
            out("\n", 1);
            return 0;
        }
        if (c == '\r' || c == '\n') {
            out("\n", 1);
            break;
        }
        if (c == 3) {                                 /* ^C: drop the line */
            out("^C\n", 3);
            len = 0;
            break;
        }
        if (c == 0x1b) {                              /* ESC [ or ESC O, then a final byte */
            int c1 = key(), c2 = c1 == '[' || c1 == 'O' ? key() : -1, param = 0;
            while (c2 >= '0' && c2 <= '9') {
                param = param * 10 + (c2 - '0');
                c2 = key();
            }
            if (c2 == 'A' && h > oldest) {            /* up: an older line */
                if (h == nhistory) {
                    memmove(draft, buf, len);
                    draft[len] = 0;
                }
                h--;
                replace_line(buf, history[h % HISTORY], &len, &cur);
            } else if (c2 == 'B' && h < nhistory) {   /* down: a newer one, then the draft */
                h++;
                replace_line(buf, h == nhistory ? draft : history[h % HISTORY], &len, &cur);
            } else if (c2 == 'C' && cur < len) {      /* right */
                out(buf + cur++, 1);
            } else if (c2 == 'D' && cur > 0) {        /* left */
                backs(1);
                cur--;
            } else if (c2 == 'H' || (c2 == '~' && (param == 1 || param == 7))) {
                backs(cur);
                cur = 0;
            } else if (c2 == 'F' || (c2 == '~' && (param == 4 || param == 8))) {
                out(buf + cur, len - cur);
                cur = len;
            } else if (c2 == '~' && param == 3 && cur < len) {    /* delete */
                memmove(buf + cur, buf + cur + 1, len - cur - 1);
                len--;
                out(buf + cur, len - cur);
                out(" ", 1);
                backs(len - cur + 1);
            }
            continue;
        }
        if ((c == 0x7f || c == '\b') && cur > 0) {   /* backspace */
            memmove(buf + cur - 1, buf + cur, len - cur);
            len--, cur--;
            backs(1);
            out(buf + cur, len - cur);
            out(" ", 1);
            backs(len - cur + 1);
        } else if (c == 0x15) {                       /* ^U */
            replace_line(buf, "", &len, &cur);
        } else if (c == 1) {                          /* ^A: home */
            backs(cur);
            cur = 0;
        } else if (c == 5) {                          /* ^E: end */
            out(buf + cur, len - cur);
            cur = len;
        } else if (c >= ' ' && c < 0x7f && len < max - 2) {
            memmove(buf + cur + 1, buf + cur, len - cur);
            buf[cur] = c;
            len++;
            out(buf + cur, len - cur);
            backs(len - cur - 1);
            cur++;
        }
    }
    buf[len] = 0;
    if (len > 0 && (nhistory == 0 || strcmp(history[(nhistory - 1) % HISTORY], buf) != 0))
        strcpy(history[nhistory++ % HISTORY], buf);
    buf[len++] = '\n';
    buf[len] = 0;
    return len;
}

int main(void)
{
    static char line[LINE_MAX];
    static struct job job;
    struct stat st;
    interactive = fstat(0, &st) == 0 && st.type == T_DEVICE;
    if (interactive) {
        setpgid(0, 0);
        tcsetpgrp(0, 0);
    }

    for (;;) {
        int n;
        if (interactive) {
            fprintf(2, "tinyos# ");
            ttymode(0, TTY_RAW);
            n = edit_line(line, sizeof line);
            ttymode(0, TTY_COOKED);
        } else {
            n = getline(0, line, sizeof line);
        }
        if (n == 0)
            exit(0);
        if (line[n - 1] != '\n' && n == LINE_MAX - 1) {
            while (getline(0, line, sizeof line) == LINE_MAX - 1 && line[LINE_MAX - 2] != '\n')
                ;
            fprintf(2, "sh: line too long (at most %d bytes)\n", LINE_MAX - 2);
            continue;
        }
        char *p = line;
        wp = words;
        int r;
        while ((r = parse_job(&p, &job)) != 0 || *p) {
            if (r < 0)
                break;
            if (r > 0)
                run_job(&job);
        }
    }
}
