/* cli.h - the `ao` command's subcommands. Each takes the arguments after
 * its own name (argv[0] is the subcommand name) and returns the exit code:
 * 0 success, 1 a negative verdict (e.g. invalid item, a process Error),
 * 2 bad usage or error, 3 a unit unreachable or an HTTP error. */
#ifndef AO_CLI_H
#define AO_CLI_H

int cli_wallet_main(int argc, char **argv);
int cli_item_main(int argc, char **argv);
int cli_wasm_main(int argc, char **argv);
int cli_gateway_main(int argc, char **argv);
int cli_process_main(int argc, char **argv);
int cli_up_main(int argc, char **argv);
int cli_su_main(int argc, char **argv);
int cli_cu_main(int argc, char **argv);
int cli_mu_main(int argc, char **argv);
/* spawn, send, eval, result, results, dryrun (cli_ao.c) */
int cli_ao_main(int argc, char **argv);
int cli_console_main(int argc, char **argv);   /* cli_console.c */

#include "crypto/crypto.h"
/* Load the wallet at path, or generate one of `type` and save it there
 * (*made = true). cli_units.c. */
int cli_wallet_load_or_make(const char *path, crypto_key_type type, crypto_wallet **out,
                            bool *made, ao_error *err);

/* The CU's WebAssembly tier: the --tier value if given, else
 * $AO_WASM_TIER, else compiled (each module is built in the background and
 * the interpreter serves until it is). Sets the engine's default for the
 * stores made from now on and fills *label ("compiled", "interp") and
 * *source ("--tier", "AO_WASM_TIER", "default"). AO_EINVAL for an unknown
 * name. cli_units.c. */
int cli_tier_choose(const char *flag, const char **label, const char **source, ao_error *err);

#endif
