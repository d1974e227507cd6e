/* exec.c: replace a process's memory with a program from the file system.
 *
 * The program is a static ELF32 RISC-V executable (elf.h) read through the file
 * system's inode API.  Each PT_LOAD segment lands at its vaddr, which must lie
 * in [USER_BASE, USER_HEAP_MAX), on fresh zeroed pages with the segment's
 * permissions (text R+X, data R+W), file bytes copied in, the rest left zero;
 * the break starts where the last segment ends.  The user stack (uabi.h) gets
 * the argument strings, then the argv array (argc pointers and a NULL), and the
 * program starts at e_entry with a0 = argc, a1 = argv, sp = argv (16-aligned).
 * Nothing of the old image is touched until the new one is complete.
 */
#include "defs.h"
#include "elf.h"
#include "memlayout.h"
#include "riscv.h"

/* Read n bytes at offset off of ip into the user page table pt at va (pages
 * already mapped).  0, or -1 if the file is short. */
static int loadseg(pagetable_t pt, uint32 va, struct inode *ip, uint32 off, uint32 n)
{
    while (n > 0) {
        uint32 va0 = PGROUNDDOWN(va);
        uint32 pa = walkaddr(pt, va0, 0);
        if (!pa)
            panic("loadseg: page not mapped");
        uint32 m = PGSIZE - (va - va0);
        if (m > n)
            m = n;
        if (readi(ip, 0, pa + (va - va0), off, m) != (int)m)
            return -1;
        va += m;
        off += m;
        n -= m;
    }
    return 0;
}

static uint32 elf_perm(uint32 flags)
{
    return (flags & PF_R ? PTE_R : 0) | (flags & PF_W ? PTE_W | PTE_R : 0) | (flags & PF_X ? PTE_X : 0);
}

int kexec(char *path, char **argv)
{
    struct proc *p = myproc();
    struct elfhdr elf;
    struct proghdr ph;
    struct inode *ip;
    pagetable_t pt = 0;
    uint32 sz = USER_BASE;

    begin_op();
    if (!(ip = namei(path))) {
        end_op();
        return -1;
    }
    if (ilock(ip) < 0) {
        iput(ip);
        end_op();
        return -1;
    }
    if (readi(ip, 0, (uint32)&elf, 0, sizeof elf) != sizeof elf || elf.magic != ELF_MAGIC ||
        elf.class_ != ELFCLASS32 || elf.data != ELFDATA2LSB || elf.type != ET_EXEC || elf.machine != EM_RISCV ||
        elf.phentsize != sizeof ph)
        goto bad;
    if (!(pt = uvmcreate()))
        goto bad;

    for (uint32 i = 0; i < elf.phnum; i++) {
        if (readi(ip, 0, (uint32)&ph, elf.phoff + i * sizeof ph, sizeof ph) != sizeof ph)
            goto bad;
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        uint32 end = ph.vaddr + ph.memsz;
        if (ph.memsz < ph.filesz || end < ph.vaddr || ph.vaddr < USER_BASE || end > USER_HEAP_MAX)
            goto bad;
        if (uvmmap(pt, ph.vaddr, end, elf_perm(ph.flags)) < 0 || loadseg(pt, ph.vaddr, ip, ph.off, ph.filesz) < 0)
            goto bad;
        if (end > sz)
            sz = end;
    }
    iunlockput(ip);
    end_op();
    ip = 0;
    fence_i();  /* the text just written, before this hart fetches it (Zifencei) */

    /* The stack: strings first (highest), then the argv array below them. */
    if (uvmmap(pt, USER_STACK_BOTTOM, USER_STACK_TOP, PTE_R | PTE_W) < 0)
        goto bad;
    uint32 sp = USER_STACK_TOP, ustack[MAXARG + 1];
    int argc;
    for (argc = 0; argv[argc]; argc++) {
        if (argc >= MAXARG)
            goto bad;
        uint32 len = strlen(argv[argc]) + 1;
        sp = (sp - len) & ~3u;
        if (sp < USER_STACK_BOTTOM || copyout(pt, sp, argv[argc], len) < 0)
            goto bad;
        ustack[argc] = sp;
    }
    ustack[argc] = 0;
    sp = (sp - (argc + 1) * sizeof(uint32)) & ~15u;
    if (sp < USER_STACK_BOTTOM || copyout(pt, sp, (char *)ustack, (argc + 1) * sizeof(uint32)) < 0)
        goto bad;

    /* Commit: the name is the last path component. */
    char *last = path;
    for (char *s = path; *s; s++)
        if (*s == '/')
            last = s + 1;
    safestrcpy(p->name, last, sizeof p->name);
    pagetable_t old = p->pagetable;
    p->pagetable = pt;
    /* The heap starts on a fresh page: the last segment's page may be read-only text. */
    p->sz = p->heap_base = PGROUNDUP(sz);
    p->pages = uvmpages(pt);
    struct trapframe *tf = p->trapframe;
    memset(tf, 0, sizeof *tf);
    tf->sepc = elf.entry;
    tf->sp = sp;
    tf->a1 = sp;
    uvmswitch(pt);
    uvmfree(old);
    return argc;  /* a0, through the system call's return value */

bad:
    if (pt)
        uvmfree(pt);
    if (ip) {
        iunlockput(ip);
        end_op();
    }
    return -1;
}
