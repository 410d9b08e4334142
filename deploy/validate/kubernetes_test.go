package validate

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// strictDecoder decodes YAML into the Kubernetes API types, refusing
// unknown and duplicate fields, as `kubectl apply --validate=strict` does.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme} {
		require.NoError(t, add(scheme))
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
}

// manifests is deploy/k8s rendered by kustomize (what kubectl apply -k
// applies), decoded strictly.
type manifests struct {
	objects     []runtime.Object
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret // secret.example.yaml, by name
	kust        types.Kustomization
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	dir := repo("deploy", "k8s")
	rendered, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build deploy/k8s")
	dec := strictDecoder(t)
	m := manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
	for _, r := range rendered.Resources() {
		y, err := r.AsYAML()
		require.NoError(t, err)
		obj, _, err := dec.Decode(y, nil, nil)
		require.NoError(t, err, "%s %s:\n%s", r.GetKind(), r.GetName(), y)
		m.objects = append(m.objects, obj)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
		case *corev1.Service:
			m.services[o.Name] = o
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "secret.example.yaml"))
	require.NoError(t, err)
	m.secrets = map[string]*corev1.Secret{}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		obj, _, err := dec.Decode([]byte(doc), nil, nil)
		require.NoError(t, err, "secret.example.yaml")
		secret, ok := obj.(*corev1.Secret)
		require.True(t, ok, "secret.example.yaml holds Secrets only")
		m.secrets[secret.Name] = secret
	}
	b, err = os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(b, &m.kust))
	return m
}

func TestKubernetes(t *testing.T) {
	m := loadManifests(t)
	dir := repo("deploy", "k8s")

	// Every manifest but the Secret's example is applied; the Secret's
	// values are the operator's.
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		switch name := filepath.Base(f); name {
		case "kustomization.yaml":
		case "secret.example.yaml":
			require.NotContains(t, m.kust.Resources, name, "the Secret's example must not be applied")
		default:
			require.Contains(t, m.kust.Resources, name, "%s is not in kustomization.yaml", name)
		}
	}
	for _, o := range m.objects {
		_, isSecret := o.(*corev1.Secret)
		require.False(t, isSecret, "no Secret is applied from the repository")
	}

	// The namespace enforces the restricted pod security profile.
	var kinds []string
	for _, o := range m.objects {
		meta := o.(interface {
			GetName() string
			GetNamespace() string
		})
		kind := fmt.Sprintf("%T/%s", o, meta.GetName())
		kinds = append(kinds, kind)
		if ns, ok := o.(*corev1.Namespace); ok {
			require.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
			continue
		}
		require.Equal(t, "faultline", meta.GetNamespace(), kind)
	}
	require.ElementsMatch(t, []string{
		"*v1.Namespace/faultline", "*v1.ServiceAccount/faultline", "*v1.ConfigMap/faultline-config",
		"*v1.Job/faultline-migrate", "*v1.Deployment/faultline-ingest", "*v1.Service/faultline-ingest",
		"*v1.PodDisruptionBudget/faultline-ingest", "*v1.Deployment/faultline-alerts", "*v1.CronJob/faultline-weekly-report",
		"*v1.Deployment/faultline-console", "*v1.Service/faultline-console",
	}, kinds)

	uid := imageUID(t)
	image := m.kust.Images[0].NewName + ":" + m.kust.Images[0].NewTag
	var serviceAccounts []string
	for _, o := range m.objects {
		if sa, ok := o.(*corev1.ServiceAccount); ok {
			serviceAccounts = append(serviceAccounts, sa.Name)
			require.NotNil(t, sa.AutomountServiceAccountToken)
			require.False(t, *sa.AutomountServiceAccountToken)
		}
	}

	// Every pod: the restricted profile, the image's non-root user, a
	// read-only root filesystem, requests and limits, configuration from
	// the ConfigMap and the Secret, and command lines faultline accepts.
	pods := map[string]corev1.PodTemplateSpec{}
	for _, o := range m.objects {
		switch w := o.(type) {
		case *appsv1.Deployment:
			pods["Deployment/"+w.Name] = w.Spec.Template
			sel, err := metaSelector(w.Spec.Selector)
			require.NoError(t, err)
			require.True(t, sel.Matches(labels.Set(w.Spec.Template.Labels)), "Deployment %s: selector does not select its pods", w.Name)
		case *batchv1.Job:
			pods["Job/"+w.Name] = w.Spec.Template
			require.Contains(t, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}, w.Spec.Template.Spec.RestartPolicy)
		case *batchv1.CronJob:
			pods["CronJob/"+w.Name] = w.Spec.JobTemplate.Spec.Template
			require.Len(t, strings.Fields(w.Spec.Schedule), 5, "CronJob schedule")
			require.Equal(t, batchv1.ForbidConcurrent, w.Spec.ConcurrencyPolicy)
		}
	}
	require.Len(t, pods, 5)
	for name, p := range pods {
		t.Run(name, func(t *testing.T) {
			s := p.Spec
			require.Contains(t, serviceAccounts, s.ServiceAccountName)
			require.NotNil(t, s.AutomountServiceAccountToken)
			require.False(t, *s.AutomountServiceAccountToken, "no API token: faultline never calls the API server")
			sc := s.SecurityContext
			require.NotNil(t, sc)
			require.True(t, sc.RunAsNonRoot != nil && *sc.RunAsNonRoot)
			require.Equal(t, uid, *sc.RunAsUser, "the image's USER")
			require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
			require.Len(t, s.Containers, 1)
			require.Empty(t, s.InitContainers)
			c := s.Containers[0]
			require.Equal(t, image, c.Image, "the image of kustomization.yaml")
			require.Empty(t, c.Args, "the whole command line in command")
			csc := c.SecurityContext
			require.NotNil(t, csc)
			require.False(t, *csc.AllowPrivilegeEscalation)
			require.True(t, *csc.ReadOnlyRootFilesystem)
			require.Equal(t, []corev1.Capability{"ALL"}, csc.Capabilities.Drop)
			require.Empty(t, csc.Capabilities.Add)
			require.Nil(t, csc.Privileged)
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
				require.False(t, req.IsZero(), "%s request", r)
				require.False(t, lim.IsZero(), "%s limit", r)
				require.LessOrEqual(t, req.Cmp(lim), 0, "%s request above its limit", r)
			}
			require.Empty(t, c.EnvFrom, "every variable named, so that each is checked")
			var env []string
			for _, e := range c.Env {
				env = append(env, e.Name)
				switch {
				case e.Name == "DATABASE_URL":
					require.True(t, e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil, "DATABASE_URL holds a password: from the Secret only")
				case strings.Contains(e.Name, "PASSWORD"):
					require.True(t, e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil, "%s from the Secret only", e.Name)
				}
				if e.ValueFrom == nil {
					continue
				}
				if ref := e.ValueFrom.SecretKeyRef; ref != nil {
					secret, ok := m.secrets[ref.Name]
					require.True(t, ok, "%s: Secret %s is not in secret.example.yaml", e.Name, ref.Name)
					require.Contains(t, secret.StringData, ref.Key, "%s: key %s of %s is not in secret.example.yaml", e.Name, ref.Key, ref.Name)
				}
				if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
					cm, ok := m.configMaps[ref.Name]
					require.True(t, ok, "%s: no ConfigMap %s", e.Name, ref.Name)
					require.Contains(t, cm.Data, ref.Key, "%s: ConfigMap %s has no key %s", e.Name, ref.Name, ref.Key)
				}
				if ref := e.ValueFrom.ResourceFieldRef; ref != nil {
					q := c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))]
					require.False(t, q.IsZero(), "%s: %s is not set", e.Name, ref.Resource)
				}
			}
			t.Run("command", func(t *testing.T) { checkInvocation(t, c.Command, env, secretFiles(t, m, s, c)) })
		})
	}

	// Ingest: probes on its HTTP port, which the Service, the scrape
	// annotations and the image's HEALTHCHECK use too.
	ingest := m.deployments["faultline-ingest"]
	require.NotNil(t, ingest)
	c := ingest.Spec.Template.Spec.Containers[0]
	require.Equal(t, []string{"ingest", "run"}, c.Command)
	require.Len(t, c.Ports, 1)
	port := c.Ports[0]
	httpAddr := ""
	for _, e := range c.Env {
		if e.Name == "HTTP_ADDR" {
			httpAddr = e.Value
		}
	}
	require.Equal(t, ":"+strconv.Itoa(int(port.ContainerPort)), httpAddr)
	require.Equal(t, imageHTTPAddr(t), httpAddr, "the port of the image's HEALTHCHECK")
	require.Equal(t, strconv.Itoa(int(port.ContainerPort)), ingest.Spec.Template.Annotations["prometheus.io/port"])
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.StartupProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		require.NotNil(t, probe)
		require.NotNil(t, probe.HTTPGet)
		require.Equal(t, path, probe.HTTPGet.Path)
		require.Equal(t, port.Name, probe.HTTPGet.Port.String())
	}
	require.Greater(t, *ingest.Spec.Replicas, int32(1), "several replicas share the partitions")
	drain := int64(15) // ingest run's default --drain-timeout
	require.Greater(t, *ingest.Spec.Template.Spec.TerminationGracePeriodSeconds, drain)
	// Every Service selects the pods of one Deployment and targets a port
	// its container names.
	for _, o := range m.objects {
		w, ok := o.(*corev1.Service)
		if !ok {
			continue
		}
		var selected []string
		for _, d := range m.deployments {
			if labels.SelectorFromSet(w.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				selected = append(selected, d.Name)
			}
		}
		require.Equal(t, []string{w.Name}, selected, "Service %s selects the Deployment of its name", w.Name)
		var named []string
		for _, p := range m.deployments[w.Name].Spec.Template.Spec.Containers[0].Ports {
			named = append(named, p.Name)
		}
		for _, p := range w.Spec.Ports {
			require.Contains(t, named, p.TargetPort.String(), "Service %s: target port", w.Name)
		}
	}
	require.Equal(t, port.Name, m.services["faultline-ingest"].Spec.Ports[0].TargetPort.String())
	for _, o := range m.objects {
		switch w := o.(type) {
		case *policyv1.PodDisruptionBudget:
			sel, err := metaSelector(w.Spec.Selector)
			require.NoError(t, err)
			require.True(t, sel.Matches(labels.Set(ingest.Spec.Template.Labels)))
		}
	}

	// report alerts --watch: one evaluator, never two during an update.
	alerts := m.deployments["faultline-alerts"]
	require.NotNil(t, alerts)
	require.Equal(t, int32(1), *alerts.Spec.Replicas)
	require.Equal(t, appsv1.RecreateDeploymentStrategyType, alerts.Spec.Strategy.Type)
	ac := alerts.Spec.Template.Spec.Containers[0]
	require.Equal(t, []string{"report", "alerts", "--watch"}, ac.Command[:3])
	// It is watched: /metrics on the port of --http-addr, scraped, and a
	// liveness probe on /healthz there.
	require.Len(t, ac.Ports, 1)
	require.Equal(t, flagPort(t, ac.Command, "--http-addr"), strconv.Itoa(int(ac.Ports[0].ContainerPort)), "the port of --http-addr")
	require.Equal(t, strconv.Itoa(int(ac.Ports[0].ContainerPort)), alerts.Spec.Template.Annotations["prometheus.io/port"])
	require.Equal(t, "true", alerts.Spec.Template.Annotations["prometheus.io/scrape"])
	require.NotNil(t, ac.LivenessProbe)
	require.NotNil(t, ac.LivenessProbe.HTTPGet)
	require.Equal(t, "/healthz", ac.LivenessProbe.HTTPGet.Path)
	require.Equal(t, ac.Ports[0].Name, ac.LivenessProbe.HTTPGet.Port.String())

	// The console: one or two stateless replicas as the read-only report
	// user, listening on the port its probes (/healthz) and its ClusterIP
	// Service use, its users in a file of the Secret that follows changes,
	// and no Ingress.
	console := m.deployments["faultline-console"]
	require.NotNil(t, console)
	require.True(t, *console.Spec.Replicas >= 1 && *console.Spec.Replicas <= 2, "1 or 2 replicas")
	cs := console.Spec.Template.Spec
	cc := cs.Containers[0]
	require.Equal(t, []string{"report", "serve"}, cc.Command[:2])
	for _, e := range cc.Env {
		if e.Name == "DATABASE_URL" {
			require.Equal(t, weeklyDatabaseKey(t, m), e.ValueFrom.SecretKeyRef.Key, "the read-only report login of the weekly report")
		}
	}
	require.Len(t, cc.Ports, 1)
	cport := cc.Ports[0]
	require.Equal(t, addrPort(t, cc.Command), strconv.Itoa(int(cport.ContainerPort)), "the port of --addr")
	for _, probe := range []*corev1.Probe{cc.LivenessProbe, cc.ReadinessProbe} {
		require.NotNil(t, probe)
		require.NotNil(t, probe.HTTPGet)
		require.Equal(t, "/healthz", probe.HTTPGet.Path)
		require.Equal(t, cport.Name, probe.HTTPGet.Port.String())
	}
	svc := m.services["faultline-console"]
	require.NotNil(t, svc)
	require.Contains(t, []corev1.ServiceType{"", corev1.ServiceTypeClusterIP}, svc.Spec.Type, "inside the cluster only")
	require.Len(t, svc.Spec.Ports, 1)
	require.Equal(t, cport.ContainerPort, svc.Spec.Ports[0].Port)
	mounted := secretFiles(t, m, cs, cc)
	require.Len(t, mounted, 1, "the htpasswd file")
	for path := range mounted {
		require.Contains(t, cc.Command, path, "--htpasswd is the mounted file")
	}
	for _, vm := range cc.VolumeMounts {
		require.True(t, vm.ReadOnly, vm.Name)
		require.Empty(t, vm.SubPath, "%s: a subPath mount never sees the Secret change", vm.Name)
	}
	t.Run("console runs as deployed", func(t *testing.T) {
		checkConsoleRuns(t, cc.Command, mounted, []string{"healthcheck", "http://127.0.0.1:" + strconv.Itoa(int(cport.ContainerPort)) + cc.LivenessProbe.HTTPGet.Path})
	})
}

// weeklyDatabaseKey is the key of the Secret that the weekly report reads
// its database URL from.
func weeklyDatabaseKey(t *testing.T, m manifests) string {
	t.Helper()
	for _, o := range m.objects {
		if cj, ok := o.(*batchv1.CronJob); ok && cj.Name == "faultline-weekly-report" {
			for _, e := range cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "DATABASE_URL" {
					return e.ValueFrom.SecretKeyRef.Key
				}
			}
		}
	}
	t.Fatal("the weekly report reads no DATABASE_URL")
	return ""
}

// secretFiles maps the paths at which container c sees keys of the Secret
// (secret volumes, mounted whole directories) to stand-ins on this
// machine, checking that each volume's Secret and keys are those of
// secret.example.yaml and that every volume it mounts is one of the pod's.
func secretFiles(t *testing.T, m manifests, s corev1.PodSpec, c corev1.Container) map[string]string {
	t.Helper()
	files := map[string]string{}
	volumes := map[string]corev1.Volume{}
	for _, v := range s.Volumes {
		volumes[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		v, ok := volumes[vm.Name]
		require.True(t, ok, "%s mounts %s, which is not a volume of its pod", c.Name, vm.Name)
		require.NotNil(t, v.Secret, "%s: only Secrets are mounted", vm.Name)
		secret, ok := m.secrets[v.Secret.SecretName]
		require.True(t, ok, "%s: Secret %s is not in secret.example.yaml", vm.Name, v.Secret.SecretName)
		require.NotEqual(t, "faultline-db", v.Secret.SecretName, "%s: the database URLs are never mounted as files", vm.Name)
		require.NotEmpty(t, v.Secret.Items, "%s: name the keys", vm.Name)
		for _, it := range v.Secret.Items {
			require.Contains(t, secret.StringData, it.Key, "%s: key %s of %s is not in secret.example.yaml", vm.Name, it.Key, secret.Name)
			files[filepath.Join(vm.MountPath, it.Path)] = secretStandIn(t, it.Key)
		}
	}
	return files
}

// imageUID is the numeric user of deploy/Dockerfile's final stage.
func imageUID(t *testing.T) int64 {
	t.Helper()
	d, err := parseDockerfile(repo("deploy", "Dockerfile"))
	require.NoError(t, err)
	users := d.final().find("user")
	require.NotEmpty(t, users)
	uid, _, _ := strings.Cut(nodeArgs(users[len(users)-1])[0], ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	require.NoError(t, err)
	return n
}

func metaSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(s)
}

// flagPort is the port of the address a flag of argv gives.
func flagPort(t *testing.T, argv []string, flag string) string {
	t.Helper()
	i := slices.Index(argv, flag)
	require.True(t, i >= 0 && i+1 < len(argv), "%q: no %s", argv, flag)
	_, port, err := net.SplitHostPort(argv[i+1])
	require.NoError(t, err, "%s %s", flag, argv[i+1])
	return port
}
