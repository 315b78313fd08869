/* cli_wallet.c - `ao wallet` (being written). */
#include "cli.h"

#include <stdio.h>

int cli_wallet_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ao wallet: not available in this build\n");
    return 2;
}
