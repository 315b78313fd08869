/* cli.h - the `ao` command's subcommands. Each takes the arguments after
 * its own name (argv[0] is the subcommand name) and returns the exit code:
 * 0 success, 1 a negative verdict (e.g. invalid item), 2 bad usage or error. */
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

#endif
