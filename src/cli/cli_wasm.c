/* cli_wasm.c - `ao wasm` (being written). */
#include "cli.h"

#include <stdio.h>

int cli_wasm_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ao wasm: not available in this build\n");
    return 2;
}
