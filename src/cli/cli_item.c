/* cli_item.c - `ao item` (being written). */
#include "cli.h"

#include <stdio.h>

int cli_item_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ao item: not available in this build\n");
    return 2;
}
