/* sh.c: the tinyos shell.
 *
 * Reads a line, splits it into jobs and runs them one after the other:
 *   line     := job (';' job | '&' job)*        '#' starts a comment
 *   job      := stage ('|' stage)* ['&']        '&': do not wait for it
 *   stage    := (word | '<' word | '>' word | '>>' word)+
 * A word is a run of characters other than blanks and < > | & ; with optional
 * "..." or '...' parts that may hold any of those (no escapes).  A command name
 * without '/' runs /bin/<name>.  `cd` and `exit` are built in.  The prompt
 * `tinyos# ` goes to fd 2 when fd 0 is a device (the console); end of input
 * ends the shell.  The console echoes what is typed, so the shell does not.
 */
#include "ulib.h"

#define LINE_MAX   256
#define MAXSTAGES  8

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

/* `cd` and `exit`: 1 if argv was one of them (run here, in this process). */
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
    int w, status;
    while ((w = wait(&status)) >= 0 && w != pid)
        ;
}

int main(void)
{
    static char line[LINE_MAX];
    static struct job job;
    struct stat st;
    int interactive = fstat(0, &st) == 0 && st.type == T_DEVICE;

    for (;;) {
        if (interactive)
            fprintf(2, "tinyos# ");
        int n = getline(0, line, sizeof line);
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
