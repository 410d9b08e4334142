package validate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// composeSecrets are the variables docker-compose.yml requires: no
// password has a default.
var composeSecrets = []string{"POSTGRES_PASSWORD", "INGEST_DB_PASSWORD", "REPORT_DB_PASSWORD", "ALERTS_DB_PASSWORD", "GRAFANA_DB_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}

func loadCompose(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{repo("deploy", "docker-compose.yml")},
		cli.WithWorkingDirectory(repo("deploy")),
		cli.WithEnv(env),
		cli.WithProfiles([]string{"traffic", "weekly"}),
	)
	require.NoError(t, err)
	return opts.LoadProject(context.Background())
}

func TestCompose(t *testing.T) {
	// No password, no stack: each missing one is named.
	for _, missing := range composeSecrets {
		var env []string
		for _, s := range composeSecrets {
			if s != missing {
				env = append(env, s+"=x")
			}
		}
		_, err := loadCompose(t, env)
		require.ErrorContains(t, err, missing, "compose must refuse to start without %s", missing)
	}

	// With them, the file is valid against the compose-spec schema (the
	// loader validates it) and consistent.
	var env []string
	for _, s := range composeSecrets {
		env = append(env, s+"=secret-"+strings.ToLower(s))
	}
	p, err := loadCompose(t, env)
	require.NoError(t, err)
	svc := func(name string) types.ServiceConfig {
		s, ok := p.Services[name]
		require.True(t, ok, "service %s", name)
		return s
	}

	// Kafka in KRaft mode: no ZooKeeper anywhere.
	kafka := svc("kafka")
	require.Contains(t, *kafka.Environment["KAFKA_PROCESS_ROLES"], "controller")
	for name, s := range p.Services {
		require.NotContains(t, strings.ToLower(name+s.Image), "zookeeper")
	}

	// Ingest: two replicas once the migrations ran and the database users
	// exist (db-users runs after migrate), and the topic; alerts likewise.
	ingest := svc("ingest")
	require.NotNil(t, ingest.Deploy)
	require.Equal(t, 2, *ingest.Deploy.Replicas)
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, svc("db-users").DependsOn["migrate"].Condition)
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, ingest.DependsOn["db-users"].Condition)
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, ingest.DependsOn["kafka-topic"].Condition)
	require.Equal(t, []string{"ingest", "migrate"}, []string(svc("migrate").Command))
	alerts := svc("alerts")
	require.Equal(t, []string{"report", "alerts", "--watch"}, []string(alerts.Command[:3]))
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, alerts.DependsOn["db-users"].Condition)
	require.Contains(t, alerts.Command, "http://alertmanager:9093")
	for _, name := range []string{"postgres", "prometheus", "alertmanager", "grafana"} {
		svc(name)
	}

	// faultline's own services: the image of deploy/Dockerfile, locked down,
	// and command lines the commands accept with the environment they read.
	// The database URL of each uses the password the database user it
	// logs in as is given.
	passwords := map[string]string{
		"faultline":        *svc("postgres").Environment["POSTGRES_PASSWORD"],
		"faultline_ingest": *svc("db-users").Environment["INGEST_DB_PASSWORD"],
		"faultline_report": *svc("db-users").Environment["REPORT_DB_PASSWORD"],
		"faultline_alerts": *svc("db-users").Environment["ALERTS_DB_PASSWORD"],
	}
	users := map[string]string{"migrate": "faultline", "ingest": "faultline_ingest", "alerts": "faultline_alerts", "console": "faultline_report",
		"weekly-report": "faultline_report"}
	for user := range passwords {
		if user != "faultline" {
			require.Contains(t, strings.Join(svc("db-users").Command, " "), "="+user+" ", "db-users creates %s", user)
		}
	}
	var ours []string
	for name, s := range p.Services {
		if s.Build == nil {
			continue
		}
		ours = append(ours, name)
		require.Equal(t, "deploy/Dockerfile", s.Build.Dockerfile, name)
		require.Equal(t, root, filepath.Clean(s.Build.Context), name)
		require.True(t, s.ReadOnly, "%s: read-only root filesystem", name)
		require.Equal(t, []string{"ALL"}, s.CapDrop, name)
		require.Contains(t, s.SecurityOpt, "no-new-privileges:true", name)
		if u, ok := s.Environment["DATABASE_URL"]; ok {
			user := users[name]
			require.Contains(t, *u, "//"+user+":"+passwords[user]+"@postgres:5432/", name)
		}
		var names []string
		for k := range s.Environment {
			names = append(names, k)
		}
		sort.Strings(names)
		t.Run("command of "+name, func(t *testing.T) { checkInvocation(t, s.Command, names, composeSecretFiles(t, p, s)) })
	}
	sort.Strings(ours)
	require.Equal(t, []string{"alerts", "console", "ingest", "loggen", "migrate", "weekly-report"}, ours)
	// Ingest, the console and the alerts watcher serve HTTP: ingest keeps
	// the image's health check, the console and the watcher have their own
	// on their port; it is off elsewhere.
	require.Nil(t, ingest.HealthCheck, "ingest keeps the image's HEALTHCHECK")
	for _, name := range []string{"loggen", "migrate", "weekly-report"} {
		require.True(t, svc(name).HealthCheck.Disable, "%s has no HTTP listener: its health check is disabled", name)
	}
	watcher := svc("alerts")
	require.Equal(t, []string{"CMD", "healthcheck", "http://127.0.0.1:" + flagPort(t, watcher.Command, "--http-addr") + "/healthz"},
		[]string(watcher.HealthCheck.Test), "the watcher's /healthz on the port of --http-addr")

	// The console: the read-only report user once it exists, restarted
	// like the other long-running services, its users in a secret file
	// that git ignores, published on loopback on the port it listens on,
	// and a health check on /healthz with the image's healthcheck command.
	console := svc("console")
	require.Equal(t, []string{"report", "serve"}, []string(console.Command[:2]))
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, console.DependsOn["db-users"].Condition)
	require.Equal(t, ingest.Restart, console.Restart)
	require.Len(t, console.Secrets, 1)
	secret, ok := p.Secrets[console.Secrets[0].Source]
	require.True(t, ok, "secret %s is defined", console.Secrets[0].Source)
	require.NotEmpty(t, secret.File, "the secret is a file the operator creates")
	rel, err := filepath.Rel(root, secret.File)
	require.NoError(t, err)
	out, err := exec.Command("git", "-C", root, "check-ignore", "--no-index", "-q", rel).CombinedOutput()
	require.NoError(t, err, "%s holds the console's users: .gitignore must keep it out of git (%s)", rel, out)
	require.Contains(t, console.Command, composeSecretTarget(console.Secrets[0]), "--htpasswd is the mounted secret")
	require.Len(t, console.Ports, 1)
	require.Equal(t, addrPort(t, console.Command), strconv.Itoa(int(console.Ports[0].Target)), "the published port is the one of --addr")
	require.NotNil(t, console.HealthCheck)
	require.False(t, console.HealthCheck.Disable)
	hc := []string(console.HealthCheck.Test)
	require.Len(t, hc, 3)
	require.Equal(t, []string{"CMD", "healthcheck"}, hc[:2], "the image has no shell: its healthcheck command")
	require.Equal(t, "/healthz", strings.TrimPrefix(hc[2], "http://127.0.0.1:"+addrPort(t, console.Command)))
	t.Run("console runs as deployed", func(t *testing.T) {
		checkConsoleRuns(t, console.Command, composeSecretFiles(t, p, console), hc[1:])
	})

	// The weekly report: sent by mail and to chat as settings in .env say.
	t.Run("weekly report", func(t *testing.T) {
		weekly := svc("weekly-report")
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, weekly.DependsOn["db-users"].Condition)
		composeWeeklyReport(t, func(env []string) map[string]*string {
			p, err := loadCompose(t, env)
			require.NoError(t, err)
			return p.Services["weekly-report"].Environment
		}, weekly.Command)
	})

	// Only loopback ports are published.
	for name, s := range p.Services {
		for _, port := range s.Ports {
			require.Equal(t, "127.0.0.1", port.HostIP, "%s publishes %s beyond loopback", name, port.Published)
		}
	}

	// Every file or directory mounted from the repository exists.
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				_, err := os.Stat(v.Source)
				require.NoError(t, err, "%s mounts %s", name, v.Source)
			}
		}
	}

	// Prometheus scrapes every ingest replica where ingest listens, as the
	// job the rules select.
	prom := readYAML[prometheusConfig](t, mountedSource(t, svc("prometheus"), "/etc/prometheus/prometheus.yml"))
	job := prom.job(t, "faultline-ingest")
	require.Len(t, job.DNSSD, 1)
	require.Equal(t, []string{"ingest"}, job.DNSSD[0].Names)
	require.Equal(t, ":"+strconv.Itoa(job.DNSSD[0].Port), *ingest.Environment["HTTP_ADDR"])
	// And the alerts watcher where it listens.
	ajob := prom.job(t, "faultline-alerts")
	require.Len(t, ajob.DNSSD, 1)
	require.Equal(t, []string{"alerts"}, ajob.DNSSD[0].Names)
	require.Equal(t, strconv.Itoa(ajob.DNSSD[0].Port), flagPort(t, watcher.Command, "--http-addr"))
	for _, rf := range prom.RuleFiles {
		_, err := os.Stat(mountedSource(t, svc("prometheus"), filepath.Join("/etc/prometheus", rf)))
		require.NoError(t, err, "rule file %s", rf)
	}

	// Grafana: its dashboards provider reads where dashboards/ is mounted,
	// its datasources are of the types the dashboards ask for, and its
	// Postgres user is the role the grafana-db-role service creates.
	grafana := svc("grafana")
	prov := readYAML[struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}](t, mountedSource(t, grafana, "/etc/grafana/provisioning/dashboards/faultline.yml"))
	require.Len(t, prov.Providers, 1)
	require.Equal(t, repo("dashboards"), mountedSource(t, grafana, prov.Providers[0].Options.Path))
	home := *grafana.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	_, err = os.Stat(mountedSource(t, grafana, home))
	require.NoError(t, err, "home dashboard %s", home)
	ds := readYAML[datasources](t, mountedSource(t, grafana, "/etc/grafana/provisioning/datasources/faultline.yml"))
	var types []string
	for _, d := range ds.Datasources {
		types = append(types, d.Type)
		if d.Type == postgresPlugin {
			require.Contains(t, strings.Join(svc("grafana-db-role").Command, " "), "-v reader="+d.User+" ")
			require.Equal(t, "$GRAFANA_DB_PASSWORD", d.SecureJSONData["password"], "the password comes from the environment")
			require.Contains(t, grafana.Environment, "GRAFANA_DB_PASSWORD")
		}
	}
	for _, want := range dashboardDatasourcePlugins(t) {
		require.Contains(t, types, want, "a datasource of each type the dashboards ask for")
	}
	prometheusURL := ""
	for _, d := range ds.Datasources {
		if d.Type == "prometheus" {
			prometheusURL = d.URL
		}
	}
	require.Equal(t, "http://prometheus:9090", prometheusURL)
	require.Contains(t, strings.Join(svc("prometheus").Command, " "), "--config.file=/etc/prometheus/prometheus.yml")
}

// composeSecretTarget is where a service sees a secret.
func composeSecretTarget(s types.ServiceSecretConfig) string {
	switch {
	case s.Target == "":
		return "/run/secrets/" + s.Source
	case filepath.IsAbs(s.Target):
		return s.Target
	}
	return "/run/secrets/" + s.Target
}

// composeSecretFiles maps where a service sees each of its secrets to a
// stand-in on this machine (the real files are the operator's).
func composeSecretFiles(t *testing.T, p *types.Project, s types.ServiceConfig) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, sec := range s.Secrets {
		_, ok := p.Secrets[sec.Source]
		require.True(t, ok, "%s: secret %s is not defined", s.Name, sec.Source)
		files[composeSecretTarget(sec)] = secretStandIn(t, sec.Source)
	}
	return files
}

type datasources struct {
	Datasources []struct {
		Name           string            `yaml:"name"`
		Type           string            `yaml:"type"`
		URL            string            `yaml:"url"`
		User           string            `yaml:"user"`
		SecureJSONData map[string]string `yaml:"secureJsonData"`
	} `yaml:"datasources"`
}

type prometheusConfig struct {
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type scrapeConfig struct {
	JobName string `yaml:"job_name"`
	DNSSD   []struct {
		Names []string `yaml:"names"`
		Port  int      `yaml:"port"`
	} `yaml:"dns_sd_configs"`
}

func (c prometheusConfig) job(t *testing.T, name string) scrapeConfig {
	t.Helper()
	for _, j := range c.ScrapeConfigs {
		if j.JobName == name {
			return j
		}
	}
	t.Fatalf("no scrape job %s", name)
	return scrapeConfig{}
}

// mountedSource is the host path that a service sees at target, through
// its bind mounts.
func mountedSource(t *testing.T, s types.ServiceConfig, target string) string {
	t.Helper()
	best := types.ServiceVolumeConfig{}
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if (target == v.Target || strings.HasPrefix(target, v.Target+"/")) && len(v.Target) > len(best.Target) {
			best = v
		}
	}
	require.NotEmpty(t, best.Target, "%s: nothing mounted at %s", s.Name, target)
	return filepath.Join(best.Source, strings.TrimPrefix(target, best.Target))
}

func readYAML[T any](t *testing.T, path string) T {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var v T
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	require.NoError(t, dec.Decode(&v), path)
	return v
}
