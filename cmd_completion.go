package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/wizard"
)

// The shell scripts ask certkit itself what completes a word: they call
// the hidden command certkit __complete WORD... with the words after
// "certkit" up to the one under the cursor, and offer the lines it prints.
// A single line :files or :dirs asks the shell to complete a path.
const (
	completeFiles = ":files"
	completeDirs  = ":dirs"
)

var completionScripts = map[string]string{
	"bash": bashCompletion,
	"zsh":  zshCompletion,
	"fish": fishCompletion,
}

func completionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "certkit completion bash|zsh|fish",
		Description: `Completes commands, flags, --target and --key-type values, and the
registry (--host) and client (--name) names in the certkit home.

Examples:
  source <(certkit completion bash)                    # in ~/.bashrc
  certkit completion zsh > "${fpath[1]}/_certkit"      # then start a new zsh
  certkit completion fish > ~/.config/fish/completions/certkit.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{errs.Input("name the shell: bash, zsh or fish", "certkit completion bash|zsh|fish")}
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return usageError{errs.Input(fmt.Sprintf("no completion for shell %q", c.Args().First()), "certkit completion bash|zsh|fish")}
			}
			_, err := fmt.Fprint(e.stdout, script)
			return err
		},
	}
}

// completeCommand is what the completion scripts call. It never fails:
// a word it cannot complete gets no candidates.
func completeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		HideHelp:        true,
		Action: func(c *cli.Context) error {
			words := c.Args().Slice()
			if len(words) == 0 {
				words = []string{""}
			}
			for _, w := range complete(c.App, words, processEnv()) {
				fmt.Fprintln(e.stdout, w)
			}
			return nil
		},
	}
}

// complete returns the candidates for the last of words, the command line
// after "certkit" up to the cursor. Registry and client names are read from
// the certkit home (--home on the line, else the environment), read-only;
// a missing home has none.
func complete(app *cli.App, words []string, env home.Env) []string {
	cmds, flags := app.Commands, app.Flags
	root := true
	var homeFlag string
	var hosts []string
	pending := "" // a flag that waits for its value
	record := func(name, value string) {
		switch name {
		case "home":
			homeFlag = value
		case "host":
			hosts = append(hosts, value)
		}
	}
	for _, w := range words[:len(words)-1] {
		if pending != "" {
			record(pending, w)
			pending = ""
			continue
		}
		if len(w) > 1 && w[0] == '-' {
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if hasValue {
				record(name, value)
			} else if takesValue(flags, name) {
				pending = name
			}
			continue
		}
		if root && w == "help" {
			flags, root = nil, false
			continue
		}
		if c := findVisibleCommand(cmds, w); c != nil {
			cmds, flags, root = c.Subcommands, c.Flags, false
		}
	}
	cur := words[len(words)-1]
	values := func(flag, prefix string) []string {
		var out []string
		for _, v := range flagValues(flag, homeFlag, hosts, env) {
			if strings.HasPrefix(v, prefix) || v == completeFiles || v == completeDirs {
				out = append(out, v)
			}
		}
		return out
	}
	switch {
	case pending != "":
		return values(pending, cur)
	case strings.HasPrefix(cur, "-"):
		if name, value, ok := strings.Cut(strings.TrimLeft(cur, "-"), "="); ok {
			var out []string
			for _, v := range values(name, value) {
				if v != completeFiles && v != completeDirs {
					out = append(out, "--"+name+"="+v)
				}
			}
			return out
		}
		var out []string
		for _, f := range append(append([]cli.Flag{}, flags...), &cli.BoolFlag{Name: "help"}) {
			if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
				continue
			}
			for _, n := range f.Names() {
				if len(n) > 1 && strings.HasPrefix("--"+n, cur) && !slices.Contains(out, "--"+n) {
					out = append(out, "--"+n)
				}
			}
		}
		return out
	default:
		var out []string
		if root && strings.HasPrefix("help", cur) {
			out = append(out, "help")
		}
		for _, c := range cmds {
			if !c.Hidden && strings.HasPrefix(c.Name, cur) {
				out = append(out, c.Name)
			}
		}
		return out
	}
}

// takesValue reports whether the flag called name among flags reads the
// next word as its value (all but the boolean ones).
func takesValue(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				tv, ok := f.(interface{ TakesValue() bool })
				return ok && tv.TakesValue()
			}
		}
	}
	return false
}

// flagValues lists what a flag's value can be, or :files / :dirs.
func flagValues(flag, homeFlag string, hosts []string, env home.Env) []string {
	switch flag {
	case "host":
		h, err := home.Resolve(homeFlag, env)
		if err != nil {
			return nil
		}
		return homeRegistries(h)
	case "name":
		h, err := home.Resolve(homeFlag, env)
		if err != nil {
			return nil
		}
		if len(hosts) == 0 {
			hosts = homeRegistries(h)
		}
		var out []string
		for _, r := range hosts {
			names, _ := home.ClientNames(h, r)
			out = append(out, names...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	case "target":
		var out []string
		for _, t := range install.Targets() {
			out = append(out, string(t))
		}
		return append(out, string(install.All))
	case "key-type":
		var out []string
		for _, k := range ca.KeyTypes {
			out = append(out, string(k))
		}
		return out
	case "role":
		return []string{string(wizard.Client), string(wizard.Server), string(wizard.Both)}
	case "home", "certs-dir", "keep", "storage":
		return []string{completeDirs}
	case "names-file", "out", "import-cert", "import-key":
		return []string{completeFiles}
	}
	return nil
}

// homeRegistries lists the registry folders in the home, sorted, skipping
// anything that is not a registry name (a temporary folder, a stray file).
func homeRegistries(h string) []string {
	entries, err := os.ReadDir(home.HostsDir(h))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if reg, err := host.Parse(e.Name()); err == nil && reg.String() == e.Name() {
			out = append(out, e.Name())
		}
	}
	return out
}

const bashCompletion = `# bash completion for certkit.
# Load it from ~/.bashrc with: source <(certkit completion bash)

_certkit() {
	local i w cur out c keep= breaks= glue=0 words=()
	# bash splits words at : and = (COMP_WORDBREAKS): join the pieces back
	# into the words certkit sees (reg.example.com:5000, --host=reg).
	for ((i = 1; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((${#words[@]})) && [[ $w =~ ^[:=]+$ || ($glue == 1 && -n $w) ]]; then
			words[-1]+=$w
		else
			words+=("$w")
		fi
		glue=0
		if [[ $w =~ ^[:=]+$ ]]; then glue=1; fi
	done
	((${#words[@]})) || words=("")
	cur=${words[-1]}
	local bin=${COMP_WORDS[0]}
	[[ $bin == "~/"* ]] && bin=$HOME/${bin#"~/"}
	out=$("$bin" __complete "${words[@]}" 2>/dev/null) || return 0
	COMPREPLY=()
	case $out in
	:files)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	:dirs)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	esac
	# bash replaces only what follows the word's last : or =.
	[[ $COMP_WORDBREAKS == *:* ]] && breaks+=:
	[[ $COMP_WORDBREAKS == *=* ]] && breaks+==
	if [[ -n $breaks && $cur == *[$breaks]* ]]; then
		keep=${cur%"${cur##*[$breaks]}"}
	fi
	while IFS= read -r c; do
		[[ -n $c ]] && COMPREPLY+=("${c#"$keep"}")
	done <<<"$out"
	return 0
}
complete -F _certkit certkit
`

const zshCompletion = `#compdef certkit
# zsh completion for certkit.
# Install it as _certkit in your fpath: certkit completion zsh > "${fpath[1]}/_certkit"
# or load it from ~/.zshrc with: source <(certkit completion zsh)

_certkit() {
	local out
	local -a candidates
	out=$("${words[1]}" __complete "${(@Q)words[2,CURRENT-1]}" "${(Q)PREFIX}" 2>/dev/null) || return 1
	case $out in
	(:files) _files; return ;;
	(:dirs) _files -/; return ;;
	('') return 1 ;;
	esac
	candidates=("${(@f)out}")
	compadd -- "${candidates[@]}"
}

if [ "$funcstack[1]" = "_certkit" ]; then
	_certkit "$@"
else
	compdef _certkit certkit
fi
`

const fishCompletion = `# fish completion for certkit.
# Install it with: certkit completion fish > ~/.config/fish/completions/certkit.fish

function __certkit_complete
	set -l tokens (commandline -opc)
	set -l cur (commandline -ct)
	set -l out ($tokens[1] __complete $tokens[2..-1] $cur 2>/dev/null)
	switch "$out"
		case :files
			__fish_complete_path $cur
		case :dirs
			__fish_complete_directories $cur
		case '*'
			printf '%s\n' $out
	end
end

complete -c certkit -f -a '(__certkit_complete)'
`
