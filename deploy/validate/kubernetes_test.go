package validate

import (
	"fmt"
	"os"
	"path/filepath"
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
	configMaps  map[string]*corev1.ConfigMap
	secret      *corev1.Secret // secret.example.yaml
	kust        types.Kustomization
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	dir := repo("deploy", "k8s")
	rendered, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build deploy/k8s")
	dec := strictDecoder(t)
	m := manifests{deployments: map[string]*appsv1.Deployment{}, configMaps: map[string]*corev1.ConfigMap{}}
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
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "secret.example.yaml"))
	require.NoError(t, err)
	obj, _, err := dec.Decode(b, nil, nil)
	require.NoError(t, err, "secret.example.yaml")
	secret, ok := obj.(*corev1.Secret)
	require.True(t, ok, "secret.example.yaml holds a Secret")
	m.secret = secret
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
	require.Len(t, pods, 4)
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
					require.Equal(t, m.secret.Name, ref.Name, e.Name)
					require.Contains(t, m.secret.StringData, ref.Key, "%s: key %s is not in secret.example.yaml", e.Name, ref.Key)
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
			t.Run("command", func(t *testing.T) { checkInvocation(t, c.Command, env) })
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
	for _, o := range m.objects {
		switch w := o.(type) {
		case *corev1.Service:
			require.True(t, labels.SelectorFromSet(w.Spec.Selector).Matches(labels.Set(ingest.Spec.Template.Labels)))
			require.Equal(t, port.Name, w.Spec.Ports[0].TargetPort.String())
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
	require.Equal(t, []string{"report", "alerts", "--watch"}, alerts.Spec.Template.Spec.Containers[0].Command[:3])
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
