package validate

import (
	"debug/elf"
	"errors"
	"fmt"
	"go/version"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/stretchr/testify/require"
)

// dockerfile is a parsed Dockerfile: its stages and their instructions.
type dockerfile struct {
	args   []string // ARGs before the first FROM, NAME=default
	stages []stage
}

type stage struct {
	name, base string
	instrs     []*parser.Node
}

func parseDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, err
	}
	d := &dockerfile{}
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			args := nodeArgs(n)
			s := stage{base: args[0]}
			if len(args) == 3 && strings.EqualFold(args[1], "as") {
				s.name = args[2]
			}
			d.stages = append(d.stages, s)
			continue
		}
		if len(d.stages) == 0 {
			if strings.EqualFold(n.Value, "arg") {
				d.args = append(d.args, nodeArgs(n)...)
			}
			continue
		}
		last := &d.stages[len(d.stages)-1]
		last.instrs = append(last.instrs, n)
	}
	if len(d.stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return d, nil
}

func nodeArgs(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

// find returns the stage's instructions named instr (RUN, COPY...).
func (s stage) find(instr string) []*parser.Node {
	var out []*parser.Node
	for _, n := range s.instrs {
		if strings.EqualFold(n.Value, instr) {
			out = append(out, n)
		}
	}
	return out
}

func (d *dockerfile) final() stage { return d.stages[len(d.stages)-1] }

// buildSteps finds how the final stage gets the binaries: the COPY --from
// of a build stage's output directory, and the RUN of that stage that runs
// go build -o into it.
func (d *dockerfile) buildSteps() (run, outDir string, err error) {
	for _, c := range d.final().find("copy") {
		from := ""
		for _, f := range c.Flags {
			if v, ok := strings.CutPrefix(f, "--from="); ok {
				from = v
			}
		}
		args := nodeArgs(c)
		if from == "" || len(args) != 2 {
			continue
		}
		for _, s := range d.stages {
			if s.name != from {
				continue
			}
			for _, r := range s.find("run") {
				cmd := strings.Join(nodeArgs(r), " ")
				if strings.Contains(cmd, "go build") && strings.Contains(cmd, "-o "+args[0]+" ") {
					return cmd, args[0], nil
				}
			}
		}
	}
	return "", "", errors.New("no COPY --from=STAGE DIR into the final stage of a DIR that a RUN go build -o DIR of that stage fills")
}

// buildAsDockerfile runs the Dockerfile's go build the way docker build
// would: in a copy of the build context filtered by .dockerignore, with the
// target platform's ARGs in the environment, through sh -c. It returns the
// directory of the binaries.
func buildAsDockerfile(path, tmp string) (string, error) {
	d, err := parseDockerfile(path)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	run, outDir, err := d.buildSteps()
	if err != nil {
		return "", err
	}
	context := filepath.Join(tmp, "context")
	if err := copyContext(filepath.Join(filepath.Dir(path), ".."), context); err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	out := filepath.Join(tmp, "bin") + "/"
	cmd := exec.Command("sh", "-c", strings.Replace(run, "-o "+outDir+" ", "-o "+out+" ", 1))
	cmd.Dir = context
	cmd.Env = append(os.Environ(), "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("RUN %s: %w", run, err)
	}
	return out, nil
}

// copyContext copies the build context at src (the repository) to dst,
// leaving out what .dockerignore excludes, as docker build sends it.
func copyContext(src, dst string) error {
	f, err := os.Open(filepath.Join(src, ".dockerignore"))
	if err != nil {
		return err
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		return err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		if excluded, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); err != nil || excluded {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// commands lists the directories of cmd/: every one is a command the image
// must hold.
func commands(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(repo("cmd"))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(repo("cmd", e.Name(), "main.go")); e.IsDir() && err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	d, err := parseDockerfile(repo("deploy", "Dockerfile"))
	require.NoError(t, err)
	final := d.final()

	// Every command is built, statically linked: the final base has no libc.
	built, err := os.ReadDir(bins)
	require.NoError(t, err)
	var names []string
	for _, b := range built {
		names = append(names, b.Name())
	}
	require.ElementsMatch(t, commands(t), names, "the image holds every command of cmd/")
	for _, name := range names {
		f, err := elf.Open(bin(name))
		require.NoError(t, err)
		for _, p := range f.Progs {
			require.NotEqual(t, elf.PT_INTERP, p.Type, "%s is dynamically linked (needs an interpreter): build with CGO_ENABLED=0", name)
		}
		libs, err := f.ImportedLibraries()
		require.NoError(t, err)
		require.Empty(t, libs, "%s needs shared libraries", name)
		f.Close()
	}
	require.True(t, strings.HasPrefix(final.base, "gcr.io/distroless/static"), "final base %s: want distroless static (no shell, no libc)", final.base)

	// The Go image is at least the version go.mod asks for (the golang
	// images set GOTOOLCHAIN=local: an older one cannot build).
	goVersion := ""
	for _, a := range d.args {
		if v, ok := strings.CutPrefix(a, "GO_VERSION="); ok {
			goVersion = v
		}
	}
	require.NotEmpty(t, goVersion, "ARG GO_VERSION=...")
	require.Contains(t, d.stages[0].base, "${GO_VERSION}")
	mod, err := os.ReadFile(repo("go.mod"))
	require.NoError(t, err)
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	require.NotNil(t, want)
	require.GreaterOrEqual(t, version.Compare("go"+goVersion, "go"+string(want[1])), 0, "golang:%s is older than go.mod's go %s", goVersion, want[1])

	// Non-root by number, so that Kubernetes' runAsNonRoot can check it.
	users := final.find("user")
	require.NotEmpty(t, users, "the final stage sets USER")
	user := nodeArgs(users[len(users)-1])[0]
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(uid)
	require.NoError(t, err, "USER %s: want a numeric uid", user)
	require.NotZero(t, n, "USER must not be root")

	// The default command and the health check are built commands, in exec
	// form (there is no shell to run the other form).
	cmds := final.find("cmd")
	require.Len(t, cmds, 1)
	require.Equal(t, "true", fmt.Sprint(cmds[0].Attributes["json"]), "CMD in exec form")
	require.Equal(t, []string{"ingest", "run"}, nodeArgs(cmds[0]))
	hcs := final.find("healthcheck")
	require.Len(t, hcs, 1)
	hc := nodeArgs(hcs[0])
	require.Equal(t, "true", fmt.Sprint(hcs[0].Attributes["json"]), "HEALTHCHECK CMD in exec form")
	require.Equal(t, "CMD", hc[0])
	require.Contains(t, names, hc[1], "the health check runs a command of the image")

	// It checks the port ingest listens on in the image, which is the one
	// exposed: ingest run's default is loopback only, so the image sets
	// HTTP_ADDR (read by --http-addr) to every interface.
	u, err := url.Parse(hc[2])
	require.NoError(t, err)
	require.Equal(t, "/healthz", u.Path)
	exposed := nodeArgs(final.find("expose")[0])
	require.Equal(t, []string{u.Port()}, exposed)
	require.Equal(t, ":"+u.Port(), imageEnv(final)["HTTP_ADDR"], "the image's HTTP_ADDR")
	require.Contains(t, help(t, []string{"ingest", "run"}), "($HTTP_ADDR)", "ingest run --http-addr reads HTTP_ADDR")
}

// imageHTTPAddr is where ingest run listens in the image: its HTTP_ADDR.
func imageHTTPAddr(t *testing.T) string {
	t.Helper()
	d, err := parseDockerfile(repo("deploy", "Dockerfile"))
	require.NoError(t, err)
	return imageEnv(d.final())["HTTP_ADDR"]
}

// imageEnv returns the variables the stage's ENV instructions set.
func imageEnv(s stage) map[string]string {
	env := map[string]string{}
	for _, n := range s.find("env") {
		args := nodeArgs(n)
		for i := 0; i+1 < len(args); i += 3 { // name, value, separator
			env[args[i]] = args[i+1]
		}
	}
	return env
}

// The same command line with every flag known and every env var read by
// the command (kong prints both in --help; an unknown flag fails even with
// --help).
func help(t *testing.T, argv []string) string {
	t.Helper()
	out, err := exec.Command(bin(argv[0]), append(slices.Clone(argv[1:]), "--help")...).CombinedOutput()
	require.NoError(t, err, "%s --help: %s", strings.Join(argv, " "), out)
	return string(out)
}
