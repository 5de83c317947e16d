// Command pingan is Pingan Hub: `pingan serve [--config FILE] [--demo]`,
// `pingan gbsim …` (a simulated GB28181 device) and `pingan version`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"pingan/configs"
	"pingan/internal/hub"
)

const usage = `usage:
  pingan serve [--config FILE] [--demo]   run the hub
  pingan gbsim --server HOST:PORT [...]   run simulated GB28181 devices (see pingan gbsim -h)
  pingan version                          print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "gbsim":
		err = gbsim(os.Args[2:])
	case "version", "--version", "-v":
		fmt.Println("pingan", hub.Version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pingan:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", os.Getenv("PINGAN_CONFIG"), "YAML configuration file (default: built-in defaults)")
	demo := fs.Bool("demo", false, "add simulated cameras streaming the shipped sample")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := configs.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, err := hub.New(ctx, cfg, hub.Options{Demo: *demo})
	if err != nil {
		return err
	}
	if err := h.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
