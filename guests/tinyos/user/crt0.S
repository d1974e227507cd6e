# crt0.S: the entry point of every tinyos user program.
#
# Convention (set up by the kernel's exec):
#   a0 = argc
#   a1 = argv: pointer array on the user stack, argv[argc] == NULL
#   sp = just below those strings and pointers, inside the user stack
# _start calls main(argc, argv) and passes its return value to exit().

    .section .text.entry
    .globl _start
_start:
    andi sp, sp, -16        # the psABI wants 16-byte stack alignment at calls
    li s0, 0                # no caller frame
    call main
    call exit               # exit(main's return value, already in a0)
1:  j 1b                    # exit does not return
