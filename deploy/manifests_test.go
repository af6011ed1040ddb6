// Package deploy tests the Kubernetes manifests of deploy/kubernetes: each is
// decoded strictly into its k8s.io/api type (an unknown field fails), and the
// objects of a variant must agree with one another, with the config their
// ConfigMap holds (a copy of config/*.yaml, validated by the built collector)
// and with the image (Containerfile).
//
//	cd deploy && OTELCOL_BINARY=$PWD/../_build/otelcol-cloudflare go test ./...   # or: make test-deploy
//	cd deploy && go test -run TestManifests -update ./...   # rewrite the ConfigMaps from config/*.yaml
package deploy

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite each variant's configmap.yaml from its config/*.yaml")

// variant is one way of running the collector on Kubernetes.
type variant struct {
	dir      string // its manifests
	config   string // the config its ConfigMap holds
	replicas int32
}

var variants = []variant{
	{dir: "kubernetes/ha", config: "../config/kubernetes-ha.yaml", replicas: 2},
	{dir: "kubernetes/single", config: "../config/kubernetes-single.yaml", replicas: 1},
}

// configKey is the ConfigMap key of the collector config.
const configKey = "config.yaml"

// manifests are the objects of one variant, by name.
type manifests struct {
	deployments     map[string]*appsv1.Deployment
	configMaps      map[string]*corev1.ConfigMap
	serviceAccounts map[string]*corev1.ServiceAccount
	roles           map[string]*rbacv1.Role
	roleBindings    map[string]*rbacv1.RoleBinding
	claims          map[string]*corev1.PersistentVolumeClaim
}

// decode reads every YAML document of the directory's files strictly into
// its API type.
func decode(t *testing.T, dir string) manifests {
	t.Helper()
	m := manifests{deployments: map[string]*appsv1.Deployment{}, configMaps: map[string]*corev1.ConfigMap{},
		serviceAccounts: map[string]*corev1.ServiceAccount{}, roles: map[string]*rbacv1.Role{},
		roleBindings: map[string]*rbacv1.RoleBinding{}, claims: map[string]*corev1.PersistentVolumeClaim{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
				continue
			}
			var typ metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &typ); err != nil {
				t.Fatalf("%s, document %d: %v", file, i+1, err)
			}
			where := fmt.Sprintf("%s, document %d (%s)", file, i+1, typ.Kind)
			decode, known := map[string]func(){
				"apps/v1 Deployment":                       func() { decodeInto(t, where, doc, m.deployments) },
				"v1 ConfigMap":                             func() { decodeInto(t, where, doc, m.configMaps) },
				"v1 ServiceAccount":                        func() { decodeInto(t, where, doc, m.serviceAccounts) },
				"rbac.authorization.k8s.io/v1 Role":        func() { decodeInto(t, where, doc, m.roles) },
				"rbac.authorization.k8s.io/v1 RoleBinding": func() { decodeInto(t, where, doc, m.roleBindings) },
				"v1 PersistentVolumeClaim":                 func() { decodeInto(t, where, doc, m.claims) },
			}[typ.APIVersion+" "+typ.Kind]
			if !known {
				t.Fatalf("%s: %q is not a kind this test knows", where, typ.APIVersion)
			}
			decode()
		}
	}
	return m
}

// decodeInto decodes doc strictly (an unknown or repeated field fails) and
// files the object under its name.
func decodeInto[T any, P interface {
	*T
	GetName() string
}](t *testing.T, where, doc string, byName map[string]P) {
	t.Helper()
	obj := P(new(T))
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if _, dup := byName[obj.GetName()]; dup {
		t.Fatalf("%s: a second object named %q", where, obj.GetName())
	}
	byName[obj.GetName()] = obj
}

// one returns the only value of m.
func one[T any](t *testing.T, what string, m map[string]T) T {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("want one %s, found %d: %v", what, len(m), slices.Sorted(maps.Keys(m)))
	}
	for _, v := range m {
		return v
	}
	panic("unreachable")
}

func TestManifests(t *testing.T) {
	for _, v := range variants {
		t.Run(filepath.Base(v.dir), func(t *testing.T) {
			if *update {
				writeConfigMap(t, v)
			}
			m := decode(t, v.dir)
			deployment := one(t, "Deployment", m.deployments)
			if got := deployment.Spec.Replicas; got == nil || *got != v.replicas {
				t.Errorf("Deployment %s: replicas %v, want %d", deployment.Name, got, v.replicas)
			}
			pod := deployment.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("Deployment %s: %d containers, want 1", deployment.Name, len(pod.Containers))
			}
			container := pod.Containers[0]
			config, configText := checkConfigMap(t, v, m, pod, container)
			checkHealth(t, config, container)
			checkEnv(t, configText, container)
			checkSecurity(t, pod, container)
			switch {
			case config.has("extensions", "k8s_leader_elector"):
				checkLease(t, m, pod, config)
			case config.has("extensions", "file_storage"):
				checkVolume(t, m, deployment, container, config)
			default:
				t.Errorf("%s keeps its checkpoints neither in Redis with a leader elector nor on a volume", v.config)
			}
			validate(t, configText)
		})
	}
}

// writeConfigMap rewrites the variant's configmap.yaml to hold its config.
func writeConfigMap(t *testing.T, v variant) {
	config, err := os.ReadFile(v.config)
	if err != nil {
		t.Fatal(err)
	}
	cm := corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "otelcol-cloudflare", Labels: map[string]string{"app.kubernetes.io/name": "otelcol-cloudflare"}},
		Data:       map[string]string{configKey: string(config)},
	}
	out, err := yaml.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	header := fmt.Sprintf("# %s, generated from %s by `cd deploy && go test -run TestManifests -update ./...`: edit that file.\n",
		filepath.Join("deploy", v.dir, "configmap.yaml"), strings.TrimPrefix(v.config, "../"))
	if err := os.WriteFile(filepath.Join(v.dir, "configmap.yaml"), append([]byte(header), out...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkConfigMap checks that the container reads its --config from the
// ConfigMap's volume, and that the ConfigMap holds the variant's config.
func checkConfigMap(t *testing.T, v variant, m manifests, pod corev1.PodSpec, container corev1.Container) (collectorConfig, string) {
	t.Helper()
	var path string
	for _, arg := range container.Args {
		if p, ok := strings.CutPrefix(arg, "--config="); ok {
			path = p
		}
	}
	var volume *corev1.Volume
	for _, mount := range container.VolumeMounts {
		if strings.HasPrefix(path, mount.MountPath+"/") {
			volume = volumeNamed(pod, mount.Name)
			path = strings.TrimPrefix(path, mount.MountPath+"/")
		}
	}
	if volume == nil || volume.ConfigMap == nil {
		t.Fatalf("container %s: --config=%s is not on a mounted ConfigMap volume (args %v)", container.Name, path, container.Args)
	}
	key := path
	for _, item := range volume.ConfigMap.Items {
		if item.Path == path {
			key = item.Key
		}
	}
	cm, found := m.configMaps[volume.ConfigMap.Name]
	if !found {
		t.Fatalf("volume %s names ConfigMap %q, which is not among the manifests", volume.Name, volume.ConfigMap.Name)
	}
	text, found := cm.Data[key]
	if !found {
		t.Fatalf("ConfigMap %s has no key %q, which --config reads", cm.Name, key)
	}
	want, err := os.ReadFile(v.config)
	if err != nil {
		t.Fatal(err)
	}
	if text != string(want) {
		t.Fatalf("ConfigMap %s does not hold %s: edit that file, then run `cd deploy && go test -run TestManifests -update ./...`",
			cm.Name, v.config)
	}
	var config collectorConfig
	if err := yaml.Unmarshal([]byte(text), &config); err != nil {
		t.Fatalf("%s: %v", v.config, err)
	}
	return config, text
}

func volumeNamed(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// checkHealth checks that the probes ask healthcheckv2 where the config has it listen.
func checkHealth(t *testing.T, config collectorConfig, container corev1.Container) {
	t.Helper()
	_, port, err := net.SplitHostPort(config.str("extensions", "healthcheckv2", "http", "endpoint"))
	if err != nil {
		t.Fatalf("extensions::healthcheckv2::http::endpoint: %v", err)
	}
	ports := map[string]string{}
	for _, p := range container.Ports {
		ports[p.Name] = fmt.Sprint(p.ContainerPort)
	}
	portOf := func(probe string, p intstr.IntOrString) {
		if got := p.String(); got != port && ports[got] != port {
			t.Errorf("%s probes port %s, healthcheckv2 listens on %s", probe, got, port)
		}
	}
	ready, live := container.ReadinessProbe, container.LivenessProbe
	if ready == nil || ready.HTTPGet == nil || live == nil || (live.HTTPGet == nil && live.TCPSocket == nil) {
		t.Fatalf("container %s: want an HTTP readiness probe and a liveness probe on healthcheckv2", container.Name)
	}
	portOf("readiness", ready.HTTPGet.Port)
	if want := config.str("extensions", "healthcheckv2", "http", "status", "path"); ready.HTTPGet.Path != want {
		t.Errorf("readiness probes path %s, healthcheckv2 serves %s", ready.HTTPGet.Path, want)
	}
	if live.HTTPGet != nil {
		portOf("liveness", live.HTTPGet.Port)
	} else {
		portOf("liveness", live.TCPSocket.Port)
	}
}

// checkEnv checks that the container sets every variable the config reads,
// that secrets come from one Secret whose keys README.md's kubectl command
// creates, and that GOMEMLIMIT follows the container's memory limit.
func checkEnv(t *testing.T, configText string, container corev1.Container) {
	t.Helper()
	env := map[string]corev1.EnvVar{}
	for _, e := range container.Env {
		env[e.Name] = e
	}
	for _, match := range regexp.MustCompile(`\$\{env:([A-Z0-9_]+)\}`).FindAllStringSubmatch(configText, -1) {
		if _, ok := env[match[1]]; !ok {
			t.Errorf("the config reads ${env:%s}, which container %s does not set", match[1], container.Name)
		}
	}
	if ref := env["CLOUDFLARE_API_TOKEN"].ValueFrom; ref == nil || ref.SecretKeyRef == nil {
		t.Errorf("CLOUDFLARE_API_TOKEN must come from a Secret")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]bool{}
	for _, e := range container.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		secrets[ref.Name] = true
		command := regexp.MustCompile(`kubectl create secret generic ` + regexp.QuoteMeta(ref.Name) + `\b[^\n\\]*(\\\n[^\n\\]*)*`).Find(readme)
		if !bytes.Contains(command, []byte("--from-literal="+ref.Key+"=")) {
			t.Errorf("%s reads key %q of Secret %s, which README.md's `kubectl create secret generic %s` does not create",
				e.Name, ref.Key, ref.Name, ref.Name)
		}
	}
	if len(secrets) != 1 {
		t.Errorf("want the secrets in one Secret, found %v", slices.Sorted(maps.Keys(secrets)))
	}
	limit := env["GOMEMLIMIT"].ValueFrom
	if limit == nil || limit.ResourceFieldRef == nil || limit.ResourceFieldRef.Resource != "limits.memory" ||
		limit.ResourceFieldRef.ContainerName != container.Name {
		t.Errorf("GOMEMLIMIT must be the resourceFieldRef limits.memory of container %s", container.Name)
	}
	if _, ok := container.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Errorf("container %s has no memory limit for GOMEMLIMIT", container.Name)
	}
}

// checkSecurity checks that the pod runs as the image's non-root user on a
// read-only root filesystem.
func checkSecurity(t *testing.T, pod corev1.PodSpec, container corev1.Container) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("the pod must set runAsNonRoot")
	}
	containerfile, err := os.ReadFile("../Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	user := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindSubmatch(containerfile)
	if user == nil {
		t.Fatalf("Containerfile has no numeric USER uid:gid")
	}
	if sc == nil || sc.RunAsUser == nil || fmt.Sprint(*sc.RunAsUser) != string(user[1]) {
		t.Errorf("the pod's runAsUser must be the image's user %s", user[1])
	}
	csc := container.SecurityContext
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Errorf("container %s must have a read-only root filesystem", container.Name)
	}
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Errorf("container %s must not allow privilege escalation", container.Name)
	}
}

// checkLease checks the leader election: the receiver follows the elector,
// whose lease is in the pod's namespace, and the pod's service account may
// do with leases what the elector does (get, create, update), no more.
func checkLease(t *testing.T, m manifests, pod corev1.PodSpec, config collectorConfig) {
	t.Helper()
	if got := config.str("receivers", "cloudflare_identity", "k8s_leader_elector"); got != "k8s_leader_elector" {
		t.Errorf("receivers::cloudflare_identity::k8s_leader_elector is %q, want the extension k8s_leader_elector", got)
	}
	if got := config.str("extensions", "k8s_leader_elector", "lease_namespace"); got != "${env:POD_NAMESPACE}" {
		t.Errorf("the lease's namespace is %q, want the pod's (${env:POD_NAMESPACE})", got)
	}
	if pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken {
		t.Errorf("the elector needs the service account's token mounted")
	}
	if _, ok := m.serviceAccounts[pod.ServiceAccountName]; !ok {
		t.Fatalf("serviceAccountName %q is not among the manifests", pod.ServiceAccountName)
	}
	binding := one(t, "RoleBinding", m.roleBindings)
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Name != pod.ServiceAccountName {
		t.Errorf("RoleBinding %s binds %v, want the ServiceAccount %s", binding.Name, binding.Subjects, pod.ServiceAccountName)
	}
	role, ok := m.roles[binding.RoleRef.Name]
	if binding.RoleRef.Kind != "Role" || !ok {
		t.Fatalf("RoleBinding %s refers to %s %q, which is not among the manifests", binding.Name, binding.RoleRef.Kind, binding.RoleRef.Name)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}}}
	if fmt.Sprint(role.Rules) != fmt.Sprint(want) {
		t.Errorf("Role %s grants %v, want %v", role.Name, role.Rules, want)
	}
}

// checkVolume checks the single replica: its file_storage directory is the
// mount of the PersistentVolumeClaim, which the old pod lets go before the new starts.
func checkVolume(t *testing.T, m manifests, deployment *appsv1.Deployment, container corev1.Container, config collectorConfig) {
	t.Helper()
	dir := config.str("extensions", "file_storage", "directory")
	var claim string
	for _, mount := range container.VolumeMounts {
		if mount.MountPath == dir {
			if v := volumeNamed(deployment.Spec.Template.Spec, mount.Name); v != nil && v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	if _, ok := m.claims[claim]; !ok {
		t.Errorf("file_storage's directory %s is not the mount of a PersistentVolumeClaim among the manifests", dir)
	}
	if deployment.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment %s: strategy %q, want Recreate (the volume is ReadWriteOnce)", deployment.Name, deployment.Spec.Strategy.Type)
	}
}

// validate runs `otelcol-cloudflare validate` of OTELCOL_BINARY on the config,
// with a placeholder for every variable it reads.
func validate(t *testing.T, configText string) {
	t.Helper()
	bin := os.Getenv("OTELCOL_BINARY")
	if bin == "" {
		t.Fatal("OTELCOL_BINARY is not set: make build, then OTELCOL_BINARY=$PWD/../_build/otelcol-cloudflare go test ./... (or: make test-deploy)")
	}
	path := filepath.Join(t.TempDir(), configKey)
	if err := os.WriteFile(path, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "validate", "--config", path)
	cmd.Env = os.Environ()
	for _, match := range regexp.MustCompile(`\$\{env:([A-Z0-9_]+)\}`).FindAllStringSubmatch(configText, -1) {
		value := "placeholder"
		if strings.HasSuffix(match[1], "_ENDPOINT") {
			value = "localhost:4318"
		}
		cmd.Env = append(cmd.Env, match[1]+"="+value)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s validate: %v\n%s", bin, err, out)
	}
}

// collectorConfig is a collector config, read loosely.
type collectorConfig map[string]any

// get returns the value at path, or nil.
func (c collectorConfig) get(path ...string) any {
	var v any = map[string]any(c)
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

func (c collectorConfig) has(path ...string) bool { return c.get(path...) != nil }

func (c collectorConfig) str(path ...string) string {
	s, _ := c.get(path...).(string)
	return s
}
