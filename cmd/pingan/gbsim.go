package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"pingan/gateway/gb28181/sim"
)

// gbsim runs simulated GB28181 devices against a platform until SIGINT or
// SIGTERM: pingan gbsim --server HOST:PORT --platform-id ID --device-id ID ...
func gbsim(args []string) error {
	fs := flag.NewFlagSet("gbsim", flag.ContinueOnError)
	var cfg sim.Config
	fs.StringVar(&cfg.Server, "server", "127.0.0.1:5060", "the platform's SIP address, HOST:PORT")
	fs.StringVar(&cfg.PlatformID, "platform-id", "34020000002000000001", "the platform's 20-digit id")
	fs.StringVar(&cfg.Domain, "domain", "", "SIP domain (default: the first 10 digits of --platform-id)")
	fs.StringVar(&cfg.DeviceID, "device-id", "34020000001320000001", "the (first) device's 20-digit id")
	fs.StringVar(&cfg.Password, "password", "", "SIP digest password")
	fs.IntVar(&cfg.Channels, "channels", 1, "channels per device")
	fs.StringVar(&cfg.Transport, "transport", "udp", "SIP transport: udp or tcp")
	fs.IntVar(&cfg.Count, "count", 1, "number of devices, with consecutive ids")
	fs.DurationVar(&cfg.Keepalive, "keepalive", sim.DefaultKeepalive, "keepalive interval")
	fs.DurationVar(&cfg.Expires, "expires", sim.DefaultExpires, "registration lifetime asked for")
	fs.StringVar(&cfg.LocalIP, "local-ip", "", "local IP for SIP and media (default: the one that routes to --server)")
	fs.StringVar(&cfg.Name, "name", sim.DefaultName, "device name")
	fs.StringVar(&cfg.CivilCode, "civil-code", "", "channels' civil code (default: the first 6 digits of --device-id)")
	fs.IntVar(&cfg.DevicesPerSocket, "per-socket", sim.DefaultDevicesPerSocket, "devices sharing one SIP socket")
	fs.Float64Var(&cfg.RegisterRate, "rate", 0, "first registrations per second (0: all at once)")
	verbose := fs.Bool("v", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("gbsim: unexpected arguments %q", fs.Args())
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	err := sim.Run(ctx, cfg)
	cfg.Logger.Info("gbsim stopped", "ran", time.Since(start).Round(time.Second))
	return err
}
