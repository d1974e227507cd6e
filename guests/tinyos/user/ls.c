/* ls.c: ls [paths...]: one line per file, `name type inode size`, where type is
 * dir, file or dev; a directory lists its entries (read as struct dirent
 * records), anything else lists itself.  No path: the current directory.
 *
 *     name                 type  ino    size
 */
#include "ulib.h"

static const char *type_name(int type)
{
    switch (type) {
    case T_DIR:    return "dir";
    case T_FILE:   return "file";
    case T_DEVICE: return "dev";
    default:       return "?";
    }
}

static void show(const char *name, const struct stat *st)
{
    printf("%-20s %-4s %4u %7u\n", name, type_name(st->type), st->ino, st->size);
}

static int list(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(2, "ls: %s: cannot open\n", path);
        return 1;
    }
    if (fstat(fd, &st) < 0) {
        fprintf(2, "ls: %s: cannot stat\n", path);
        close(fd);
        return 1;
    }
    if (st.type != T_DIR) {
        show(path, &st);
        close(fd);
        return 0;
    }

    /* "<path>/<name>": room for the longest path plus one entry name */
    char full[MAXPATH + DIRSIZ + 2];
    int plen = strlen(path);
    if (plen > MAXPATH) {
        fprintf(2, "ls: %s: path too long\n", path);
        close(fd);
        return 1;
    }
    strcpy(full, path);
    if (plen == 0 || full[plen - 1] != '/')
        full[plen++] = '/';

    struct dirent de;
    while (read(fd, &de, sizeof de) == sizeof de) {
        if (de.inum == 0)
            continue;
        char name[DIRSIZ + 1];
        memmove(name, de.name, DIRSIZ);
        name[DIRSIZ] = 0;
        strcpy(full + plen, name);
        if (stat(full, &st) < 0) {
            fprintf(2, "ls: %s: cannot stat\n", full);
            continue;
        }
        show(name, &st);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return list(".");
    int status = 0;
    for (int i = 1; i < argc; i++)
        status |= list(argv[i]);
    return status;
}
