/* elf.h: the parts of the ELF32 format exec.c reads (System V ABI, "Object
 * Files": the ELF header and program headers). */
#ifndef TINYOS_ELF_H
#define TINYOS_ELF_H

#include "types.h"

#define ELF_MAGIC    0x464c457fu  /* "\x7fELF" as a little-endian word */
#define ELFCLASS32   1            /* e_ident[4] */
#define ELFDATA2LSB  1            /* e_ident[5]: little-endian */
#define ET_EXEC      2
#define EM_RISCV     243

struct elfhdr {
    uint32 magic;       /* e_ident[0..3] */
    uint8 class_, data, ident_version, osabi;
    uint8 pad[8];
    uint16 type;
    uint16 machine;
    uint32 version;
    uint32 entry;
    uint32 phoff;
    uint32 shoff;
    uint32 flags;
    uint16 ehsize;
    uint16 phentsize;
    uint16 phnum;
    uint16 shentsize;
    uint16 shnum;
    uint16 shstrndx;
};

#define PT_LOAD 1
#define PF_X    1
#define PF_W    2
#define PF_R    4

struct proghdr {
    uint32 type;
    uint32 off;
    uint32 vaddr;
    uint32 paddr;
    uint32 filesz;
    uint32 memsz;
    uint32 flags;
    uint32 align;
};

_Static_assert(sizeof(struct elfhdr) == 52, "ELF32 header");
_Static_assert(sizeof(struct proghdr) == 32, "ELF32 program header");

#endif
