package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// RunFunc runs one subcommand and returns the process exit status.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// Command is one row of a program's command table.
type Command struct {
	Name    string
	Summary string
	Run     RunFunc
}

// Dispatcher picks a subcommand from the first argument and runs it. It owns
// what every program answers alike: the usage printed for no command or for
// help, the unknown-command message and the exit statuses of both.
type Dispatcher struct {
	// Program names the binary in messages.
	Program string
	// Synopsis follows "Usage: " on the first line of the usage.
	Synopsis string
	// Footer ends the usage, after the command list.
	Footer string
	// Commands is the command table, in the order the usage lists it.
	Commands []Command
	// Aliases are top-level spellings of a command, such as "--version"
	// for "version".
	Aliases map[string]string
	// HelpTopics makes "help COMMAND" print that command's help; without
	// it "help" prints the command list whatever follows.
	HelpTopics bool
	// HelpAnywhere looks for -h among all the leading flags of a command;
	// without it only the first argument after the command name counts.
	HelpAnywhere bool
}

// Run dispatches args (without the program name) and returns the exit
// status. Help goes to stdout with status 0; no command or an unknown one is
// a usage error on stderr.
func (d *Dispatcher) Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		d.Usage(stderr)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if d.HelpTopics && len(args) > 1 {
			return d.Run([]string{args[1], "-h"}, stdout, stderr)
		}
		d.Usage(stdout)
		return ExitOK
	}
	name := args[0]
	if alias, ok := d.Aliases[name]; ok {
		name = alias
	}
	for _, c := range d.Commands {
		if c.Name == name {
			return d.runCommand(c, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q; run \"%s help\" for the list\n", d.Program, args[0], d.Program)
	return ExitUsage
}

// runCommand runs c with a context that ends on SIGINT or SIGTERM. When the
// arguments ask for help, the command writes everything to stdout and a
// usage status becomes 0, also for commands whose flag parsing treats -h as
// a usage error.
func (d *Dispatcher) runCommand(c Command, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !d.helpRequested(args) {
		return c.Run(ctx, args, stdout, stderr)
	}
	if code := c.Run(ctx, args, stdout, stdout); code != ExitUsage {
		return code
	}
	return ExitOK
}

// helpRequested reports whether a command's args ask for help: the first
// argument, or with HelpAnywhere any of the leading flags.
func (d *Dispatcher) helpRequested(args []string) bool {
	if !d.HelpAnywhere {
		return len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
	}
	for _, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			return false
		}
		switch a {
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

// Usage prints the synopsis, the command list with the summaries in one
// column, and the footer.
func (d *Dispatcher) Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\nCommands:\n", d.Synopsis)
	width := 0
	for _, c := range d.Commands {
		width = max(width, len(c.Name))
	}
	for _, c := range d.Commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\n%s\n", d.Footer)
}
