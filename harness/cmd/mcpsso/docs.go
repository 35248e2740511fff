package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/clidoc"
)

//go:generate go run . docs cli --dir ../../../docs/cli

// The `docs` commands write the kit's generated documentation: only its maintainers need them,
// so the group is hidden (and so left out of the reference it writes).
func newDocsCommand() *cobra.Command {
	cmd := groupCommand("docs", "Write the kit's generated documentation",
		`Write the kit's generated documentation. Hidden: only the kit's maintainers need it.`)
	cmd.Hidden = true
	cmd.AddCommand(newDocsCLICommand())
	return cmd
}

func newDocsCLICommand() *cobra.Command {
	var dir string
	var check bool
	cmd := &cobra.Command{
		Use:   "cli --dir DIR [--check]",
		Short: "Write the CLI reference, one Markdown file per command, from the command tree",
		Long: `Write the CLI reference into DIR: one Markdown file per visible command (mcpsso_aws_serve.md
for "mcpsso aws serve") with what its --help shows, and remove DIR's .md files of commands that
no longer exist. With --check, change nothing and fail (exit 1) when DIR differs, naming each
file; TestTheCLIReferenceIsUpToDate does the same for docs/cli.`,
		Example: `  go run ./harness/cmd/mcpsso docs cli --dir docs/cli
  go run ./harness/cmd/mcpsso docs cli --dir docs/cli --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("--dir: required, the directory of the CLI reference (docs/cli)")
			}
			// A fresh tree, not cmd.Root(): the one the test renders, whatever this run has set.
			root := newRootCommand()
			if !check {
				return clidoc.Write(root, dir)
			}
			diffs, err := clidoc.Diff(root, dir)
			if err != nil {
				return failure{err}
			}
			if len(diffs) > 0 {
				return failure{fmt.Errorf("%s is out of date with the command tree (write it with: mcpsso docs cli --dir %s):\n  %s",
					dir, dir, strings.Join(diffs, "\n  "))}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the directory of the CLI reference (docs/cli)")
	cmd.Flags().BoolVar(&check, "check", false, "change nothing; fail when the directory is out of date")
	return cmd
}
