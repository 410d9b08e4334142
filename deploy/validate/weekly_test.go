package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// weeklySecretEnv are the variables of the weekly report's delivery that
// hold secrets or personal data: from the Secret, never on a command line.
var weeklySecretEnv = []string{"SMTP_URL", "SMTP_PASSWORD", "MAIL_FROM", "MAIL_TO", "WEBHOOK_URL"}

// weeklyFlags are the delivery flags whose values belong in the Secret.
var weeklyFlags = []string{"--smtp-url", "--mail-to", "--mail-from", "--webhook-url"}

// exitDeliveryFailed is what report weekly exits with when a delivery
// failed after its own retries (cmd/report's deliveryError).
const exitDeliveryFailed = 3

// The weekly report's CronJob sends the report rather than printing it:
// the SMTP settings and the webhook URL from one Secret (the webhook
// optional), none of them on the command line; the Job stops on a failed
// delivery instead of mailing everyone again. And the command line runs:
// it posts to a webhook, and its exit code on a refused post is one the
// Job does not retry.
func TestKubernetesWeeklyReport(t *testing.T) {
	m := loadManifests(t)
	var cj *batchv1.CronJob
	for _, o := range m.objects {
		if c, ok := o.(*batchv1.CronJob); ok && c.Name == "faultline-weekly-report" {
			cj = c
		}
	}
	require.NotNil(t, cj)
	job := cj.Spec.JobTemplate.Spec
	c := job.Template.Spec.Containers[0]
	require.Equal(t, []string{"report", "weekly"}, c.Command[:2])
	checkWeeklyCommand(t, c.Command)

	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	secret := ""
	for _, name := range weeklySecretEnv {
		e, ok := env[name]
		require.True(t, ok, "the CronJob sets %s", name)
		require.Empty(t, e.Value, "%s comes from the Secret", name)
		require.True(t, e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil, "%s comes from the Secret", name)
		ref := e.ValueFrom.SecretKeyRef
		require.NotEqual(t, "faultline-db", ref.Name, "%s: a Secret of its own, not the database's", name)
		if secret == "" {
			secret = ref.Name
		}
		require.Equal(t, secret, ref.Name, "every delivery setting in one Secret")
		optional := ref.Optional != nil && *ref.Optional
		require.Equal(t, name == "WEBHOOK_URL", optional, "%s: only the chat message is optional; a missing mail setting must stop the pod", name)
	}
	_, ok := m.secrets[secret]
	require.True(t, ok, "secret.example.yaml shows %s", secret)

	// A failed delivery (exit 3) or a usage error (exit 2) fails the Job:
	// only what another pod could fix is retried.
	require.Equal(t, corev1.RestartPolicyNever, job.Template.Spec.RestartPolicy, "podFailurePolicy needs restartPolicy Never")
	require.NotNil(t, job.BackoffLimit)
	require.Positive(t, *job.BackoffLimit, "a database that is down at 06:00 is retried")
	require.NotNil(t, job.PodFailurePolicy)
	var failJob []int32
	for _, r := range job.PodFailurePolicy.Rules {
		if r.Action == batchv1.PodFailurePolicyActionFailJob && r.OnExitCodes != nil && r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn {
			require.True(t, r.OnExitCodes.ContainerName == nil || *r.OnExitCodes.ContainerName == c.Name)
			failJob = append(failJob, r.OnExitCodes.Values...)
		}
	}
	require.Contains(t, failJob, int32(exitDeliveryFailed))
	require.Contains(t, failJob, int32(2))

	t.Run("runs as deployed", func(t *testing.T) {
		code := runWeeklyReport(t, c.Command)
		require.Contains(t, failJob, int32(code), "the exit code of a refused post is one the Job does not retry")
	})
}

// checkWeeklyCommand checks a deployment's report weekly command line: it
// sends the report (nothing to print it as), and holds no delivery
// setting (process lists and manifests would show them).
func checkWeeklyCommand(t *testing.T, argv []string) {
	t.Helper()
	for _, a := range argv {
		flag, _, _ := strings.Cut(a, "=")
		require.NotContains(t, weeklyFlags, flag, "%q: delivery settings come from the environment", argv)
		require.NotEqual(t, "--format", flag, "%q: the report is sent, not printed", argv)
		require.NotContains(t, a, "hooks.", "%q: no webhook URL on the command line", argv)
	}
}

// runWeeklyReport runs the image's report binary with a deployment's
// command line, as the read-only report login of a migrated database, with
// mail off and WEBHOOK_URL set to a local webhook: once when it accepts
// (the command must exit 0 and post the summary) and once when it answers
// 404 (a revoked hook); it returns the exit code of that second run.
func runWeeklyReport(t *testing.T, argv []string) int {
	t.Helper()
	const path = "/services/T0/B0/validate-secret"
	var mu sync.Mutex
	var posted [][]byte
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != path || status != http.StatusOK {
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		posted = append(posted, body)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	db := reportLogin(t)
	run := func() (int, string) {
		cmd := exec.Command(bin(argv[0]), argv[1:]...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATABASE_URL=" + db,
			"WEBHOOK_URL=" + srv.URL + path, "CONSOLE_URL=https://faultline.example.com", "MAIL_TO=", "MAIL_FROM=", "SMTP_URL=", "SMTP_PASSWORD="}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		require.NotContains(t, out.String(), path, "the webhook's secret path is never printed")
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), out.String()
		}
		require.NoError(t, err)
		return 0, out.String()
	}

	code, out := run()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "Posted the weekly report")
	require.Len(t, posted, 1)
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(posted[0], &msg))
	require.True(t, strings.HasPrefix(msg.Text, "Weekly error report "), msg.Text)
	require.Contains(t, msg.Text, "https://faultline.example.com/weekly?week=")
	require.NotEmpty(t, msg.Blocks)

	mu.Lock()
	status = http.StatusNotFound
	mu.Unlock()
	code, out = run()
	require.Contains(t, out, "answered 404 Not Found: no_service")
	require.Len(t, posted, 1)
	return code
}

// composeWeeklyReport checks compose's weekly-report service: the report
// user, its delivery settings from .env (none required: a stack without
// them still starts), nothing secret on its command line, and that its
// command line runs.
func composeWeeklyReport(t *testing.T, load func(env []string) map[string]*string, command []string) {
	t.Helper()
	require.Equal(t, []string{"report", "weekly"}, command[:2])
	checkWeeklyCommand(t, command)
	var env []string
	for _, s := range composeSecrets {
		env = append(env, s+"=x")
	}
	unset := load(env)
	for _, name := range weeklySecretEnv {
		v, ok := unset[name]
		require.True(t, ok, "weekly-report sets %s", name)
		require.True(t, v != nil && *v == "", "%s is empty unless .env sets it", name)
	}
	for _, name := range weeklySecretEnv {
		env = append(env, name+"=from-env-"+strings.ToLower(name))
	}
	set := load(env)
	for _, name := range weeklySecretEnv {
		require.Equal(t, "from-env-"+strings.ToLower(name), *set[name], "%s comes from .env", name)
	}
	t.Run("runs as deployed", func(t *testing.T) {
		require.Equal(t, exitDeliveryFailed, runWeeklyReport(t, command), "a refused post is a failed delivery")
	})
}
