/* main.c - the `ao` command: dispatch to subcommands. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define AO_VERSION "0.1.0"

static const struct {
    const char *name;
    int (*main)(int, char **);
    const char *help;
} commands[] = {
    { "wallet", cli_wallet_main, "create wallets and show their addresses" },
    { "item", cli_item_main, "sign, verify and show ANS-104 data items" },
    { "wasm", cli_wasm_main, "validate and run WebAssembly modules" },
    { "gateway", cli_gateway_main, "serve a local weave as an Arweave HTTP gateway" },
    { "process", cli_process_main, "run messages through a process module (aos)" },
    { "up", cli_up_main, "run a whole AO network in one process (gateway, SU, CU, MU)" },
    { "su", cli_su_main, "run a Scheduler Unit alone (multi-machine)" },
    { "cu", cli_cu_main, "run a Compute Unit alone (multi-machine)" },
    { "mu", cli_mu_main, "run a Messenger Unit alone (multi-machine)" },
    { "spawn", cli_ao_main, "spawn a process on a network (MU_URL, CU_URL, GATEWAY_URL)" },
    { "send", cli_ao_main, "send a message to a process and show its result" },
    { "eval", cli_ao_main, "evaluate Lua in an aos process" },
    { "result", cli_ao_main, "show the result of a message" },
    { "results", cli_ao_main, "list (or --follow) a process's results" },
    { "dryrun", cli_ao_main, "evaluate a message without scheduling it" },
    { "status", cli_ao_main, "a node's units and its upstream mirror's progress" },
    { "console", cli_console_main, "an interactive aos shell on a process" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ao <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-8s %s\n", "version", "print the version");
    fprintf(f, "\n'ao <command> --help' describes a command.\n");
    fprintf(f, "\nexit codes: 0 success; 1 a negative answer (invalid item, the process\n"
               "answered an Error); 2 bad usage or input; 3 a unit could not be reached\n"
               "or answered an HTTP error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("ao %s\n", AO_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "ao: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
