// Package deploy tests the Kubernetes manifests of deploy/kubernetes: each is
// decoded strictly into its k8s.io/api type (an unknown field fails), and the
// objects of a variant must agree with one another, with the config their
// ConfigMap holds (a copy of config/*.yaml, validated by the built collector)
// and with the image (Containerfile). TestManifestMutations checks that
// TestManifests fails on each of a list of broken copies of the manifests.
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
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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

// manifestsRootEnv, when set, is a directory holding the variants' manifest
// directories (ha, single) that TestManifests reads instead of kubernetes/:
// TestManifestMutations runs it on broken copies.
const manifestsRootEnv = "DEPLOY_MANIFESTS_ROOT"

// manifestDir is the directory TestManifests reads the variant's manifests from.
func (v variant) manifestDir() string {
	if root := os.Getenv(manifestsRootEnv); root != "" {
		return filepath.Join(root, filepath.Base(v.dir))
	}
	return v.dir
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
	budgets         map[string]*policyv1.PodDisruptionBudget
	networkPolicies map[string]*networkingv1.NetworkPolicy
}

// decode reads every YAML document of the directory's files strictly into
// its API type.
func decode(t *testing.T, dir string) manifests {
	t.Helper()
	m := manifests{deployments: map[string]*appsv1.Deployment{}, configMaps: map[string]*corev1.ConfigMap{},
		serviceAccounts: map[string]*corev1.ServiceAccount{}, roles: map[string]*rbacv1.Role{},
		roleBindings: map[string]*rbacv1.RoleBinding{}, claims: map[string]*corev1.PersistentVolumeClaim{},
		budgets: map[string]*policyv1.PodDisruptionBudget{}, networkPolicies: map[string]*networkingv1.NetworkPolicy{}}
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
				"policy/v1 PodDisruptionBudget":            func() { decodeInto(t, where, doc, m.budgets) },
				"networking.k8s.io/v1 NetworkPolicy":       func() { decodeInto(t, where, doc, m.networkPolicies) },
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
			m := decode(t, v.manifestDir())
			deployment := one(t, "Deployment", m.deployments)
			if got := deployment.Spec.Replicas; got == nil || *got != v.replicas {
				t.Errorf("Deployment %s: replicas %v, want %d", deployment.Name, got, v.replicas)
			}
			checkSelector(t, deployment)
			pod := deployment.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("Deployment %s: %d containers, want 1", deployment.Name, len(pod.Containers))
			}
			container := pod.Containers[0]
			podLabels := deployment.Spec.Template.Labels
			config, configText := checkConfigMap(t, v, m, pod, container)
			checkImage(t, container)
			checkHealth(t, config, container)
			checkProbes(t, container)
			checkEnv(t, configText, container)
			checkRedisCA(t, config, pod, container)
			checkResources(t, container)
			checkSecurity(t, pod, container)
			checkMetrics(t, config, deployment.Spec.Template, container)
			checkAntiAffinity(t, v, pod, podLabels)
			checkDisruptionBudget(t, v, m, podLabels)
			checkNetworkPolicy(t, m, podLabels, container, config)
			switch {
			case config.has("extensions", "k8s_leader_elector"):
				checkLease(t, m, pod, config)
			case config.has("extensions", "file_storage"):
				checkVolume(t, m, deployment, container, config)
			default:
				t.Errorf("%s keeps its checkpoints neither in Redis with a leader elector nor on a volume", v.config)
			}
			validate(t, configText, container)
		})
	}
}

// mutation is a change to one manifest that TestManifests must fail on, with
// a message containing want.
type mutation struct {
	name          string
	variant, file string // the file in the variant's directory; created when before is empty
	before, after string // before must occur once
	want          string
}

const placeholderDigest = "@sha256:0000000000000000000000000000000000000000000000000000000000000000"

var mutations = []mutation{
	{"selector no longer matching the pod labels", "ha", "deployment.yaml",
		"  selector:\n    matchLabels:\n      app.kubernetes.io/name: otelcol-cloudflare\n",
		"  selector:\n    matchLabels:\n      app.kubernetes.io/name: otelcol\n", "does not select its pods"},
	{"capabilities.drop [ALL] removed", "ha", "deployment.yaml", "            capabilities:\n              drop: [ALL]\n", "",
		"must drop all capabilities"},
	{"capabilities.drop [ALL] removed", "single", "deployment.yaml", "            capabilities:\n              drop: [ALL]\n", "",
		"must drop all capabilities"},
	{"seccomp profile removed", "ha", "deployment.yaml", "        seccompProfile:\n          type: RuntimeDefault\n", "",
		"must run under a seccomp profile"},
	{"seccomp profile removed", "single", "deployment.yaml", "        seccompProfile:\n          type: RuntimeDefault\n", "",
		"must run under a seccomp profile"},
	{"negative readiness probe period", "ha", "deployment.yaml",
		"              path: /status\n              port: health\n            periodSeconds: 10\n",
		"              path: /status\n              port: health\n            periodSeconds: -10\n",
		"the readiness probe's periodSeconds is -10"},
	{"negative liveness probe period", "single", "deployment.yaml",
		"            periodSeconds: 10\n            failureThreshold: 6\n", "            periodSeconds: -1\n            failureThreshold: 6\n",
		"the liveness probe's periodSeconds is -1"},
	{"invalid image reference (upper case)", "ha", "deployment.yaml",
		"image: registry.example.com/otelcol-cloudflare:", "image: registry.example.com/Otelcol-Cloudflare:", "is not a valid image reference"},
	{"invalid image reference (short digest)", "single", "deployment.yaml", placeholderDigest, "@sha256:0123", "is not a valid image reference"},
	{"image by tag only", "single", "deployment.yaml", placeholderDigest + "\n", "\n", "is not pinned by its digest"},
	{"memory limit below its request", "ha", "deployment.yaml",
		"            limits:\n              memory: 256Mi\n", "            limits:\n              memory: 100Mi\n",
		"the memory limit 100Mi is below its request 128Mi"},
	{"pod anti-affinity removed", "ha", "deployment.yaml",
		"      affinity:\n        podAntiAffinity: # the standby on another node, so that one node failure leaves one replica\n" +
			"          preferredDuringSchedulingIgnoredDuringExecution:\n            - weight: 100\n              podAffinityTerm:\n" +
			"                topologyKey: kubernetes.io/hostname\n                labelSelector:\n                  matchLabels:\n" +
			"                    app.kubernetes.io/name: otelcol-cloudflare\n", "",
		"without a pod anti-affinity"},
	{"GOMEMLIMIT the whole limit", "ha", "deployment.yaml", "value: 230MiB\n", "value: 256MiB\n", "is 100 % of the memory limit"},
	{"GOMEMLIMIT in Kubernetes units", "single", "deployment.yaml", "value: 230MiB\n", "value: 230Mi\n",
		"want bytes as the Go runtime reads them"},
	{"scrape annotation on another port", "ha", "deployment.yaml", `prometheus.io/port: "8888"`, `prometheus.io/port: "9090"`,
		`prometheus.io/port is "9090", want "8888"`},
	{"metrics port not declared", "single", "deployment.yaml", "            - name: metrics\n              containerPort: 8888\n", "",
		"does not declare the metrics port 8888"},
	{"OTLP endpoint on a port the NetworkPolicy does not open", "ha", "deployment.yaml",
		"value: https://otlp.example.com:4318\n", "value: https://otlp.example.com:4317\n", "does not let out TCP/4317"},
	{"PodDisruptionBudget selector no longer matching", "ha", "poddisruptionbudget.yaml",
		"  selector:\n    matchLabels:\n      app.kubernetes.io/name: otelcol-cloudflare\n",
		"  selector:\n    matchLabels:\n      app.kubernetes.io/name: otelcol\n", "PodDisruptionBudget otelcol-cloudflare: selector"},
	{"PodDisruptionBudget blocking drains", "ha", "poddisruptionbudget.yaml", "  maxUnavailable: 1\n", "  maxUnavailable: 0\n",
		"lets 0 of 2 replicas go at once"},
	{"PodDisruptionBudget letting both go", "ha", "poddisruptionbudget.yaml", "  maxUnavailable: 1\n", "  minAvailable: 0\n",
		"lets 2 of 2 replicas go at once"},
	{"PodDisruptionBudget for one replica", "single", "poddisruptionbudget.yaml", "",
		"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: otelcol-cloudflare\nspec:\n  minAvailable: 1\n" +
			"  selector:\n    matchLabels:\n      app.kubernetes.io/name: otelcol-cloudflare\n",
		"for one replica"},
	{"NetworkPolicy podSelector no longer matching", "ha", "networkpolicy.yaml",
		"  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: otelcol-cloudflare\n",
		"  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: otelcol\n", "podSelector"},
	{"NetworkPolicy not isolating egress", "single", "networkpolicy.yaml", "policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]",
		"want Egress among them"},
	{"NetworkPolicy closing the probes' port", "ha", "networkpolicy.yaml", "        - port: health # the kubelet's probes (healthcheckv2)\n", "",
		"does not let in port health (13133)"},
	{"NetworkPolicy closing the metrics port", "single", "networkpolicy.yaml", "        - port: metrics # Prometheus: the collector's own metrics\n", "",
		"does not let in port metrics (8888)"},
	{"Redis CA not mounted", "ha", "deployment.yaml",
		"            - name: redis-ca\n              mountPath: /etc/otelcol-cloudflare-redis\n              readOnly: true\n", "",
		"is on no Secret mounted"},
	{"Redis CA from a key the Secret does not have", "ha", "deployment.yaml", "              - key: redis-ca.crt\n",
		"              - key: redis-ca.pem\n", "which docs/kubernetes.md's kubectl command does not create"},
	{"NetworkPolicy without DNS over UDP", "single", "networkpolicy.yaml", "        - {protocol: UDP, port: 53}\n", "", "does not let out UDP/53: DNS"},
	{"NetworkPolicy without Cloudflare", "single", "networkpolicy.yaml",
		"    - to: # the Cloudflare API (api.cloudflare.com): HTTPS outside the private ranges\n" +
			"        - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}\n" +
			"        - ipBlock: {cidr: \"::/0\", except: [\"fc00::/7\"]}\n      ports:\n        - {protocol: TCP, port: 443}\n", "",
		"does not let out TCP/443: the Cloudflare API"},
	{"NetworkPolicy on another Redis port", "ha", "networkpolicy.yaml", "{protocol: TCP, port: 6379}", "{protocol: TCP, port: 6380}",
		"does not let out TCP/6379: Redis"},
	{"NetworkPolicy without the Kubernetes API's 6443", "ha", "networkpolicy.yaml", "        - {protocol: TCP, port: 6443}\n", "",
		"does not let out TCP/6443: the Kubernetes API"},
	{"Role for another lease", "ha", "role.yaml", "resourceNames: [otelcol-cloudflare]", "resourceNames: [other]", "Role otelcol-cloudflare-lease grants"},
	{"Role for every lease", "ha", "role.yaml", "    resourceNames: [otelcol-cloudflare] # extensions::k8s_leader_elector::lease_name\n", "",
		"Role otelcol-cloudflare-lease grants"},
}

// TestManifestMutations runs TestManifests (this test binary, again) on
// copies of the manifests with one of the mutations applied, and checks that
// it fails, saying why.
func TestManifestMutations(t *testing.T) {
	if os.Getenv(manifestsRootEnv) != "" || *update {
		t.Skip("runs on the manifests of kubernetes/, without -update")
	}
	if os.Getenv("OTELCOL_BINARY") == "" {
		t.Fatal("OTELCOL_BINARY is not set: make build, then OTELCOL_BINARY=$PWD/../_build/otelcol-cloudflare go test ./... (or: make test-deploy)")
	}
	for _, mu := range mutations {
		t.Run(mu.variant+"/"+mu.file+"/"+mu.name, func(t *testing.T) {
			root := t.TempDir()
			for _, v := range variants {
				if err := os.CopyFS(filepath.Join(root, filepath.Base(v.dir)), os.DirFS(v.dir)); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(root, mu.variant, mu.file)
			var text []byte
			if mu.before != "" {
				var err error
				if text, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
				if n := bytes.Count(text, []byte(mu.before)); n != 1 {
					t.Fatalf("%s/%s holds %q %d times, want once: update the mutation", mu.variant, mu.file, mu.before, n)
				}
			} else if _, err := os.Stat(path); err == nil {
				t.Fatalf("%s/%s exists: update the mutation", mu.variant, mu.file)
			}
			if err := os.WriteFile(path, bytes.Replace(text, []byte(mu.before), []byte(mu.after), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestManifests$/^"+mu.variant+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), manifestsRootEnv+"="+root)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("TestManifests passes on the mutated manifests:\n%s", out)
			}
			if !bytes.Contains(out, []byte(mu.want)) {
				t.Errorf("TestManifests fails, but not saying %q:\n%s", mu.want, out)
			}
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

// kubernetesDoc is the page that says how to deploy the manifests: its
// `kubectl create secret generic` command creates the Secret they read.
const kubernetesDoc = "../docs/kubernetes.md"

// checkRedisCA checks that the CA file redis_storage verifies Redis's TLS
// certificate with, when the config names one, is a key of a Secret mounted
// in the container, which docs/kubernetes.md's kubectl command creates.
func checkRedisCA(t *testing.T, config collectorConfig, pod corev1.PodSpec, container corev1.Container) {
	t.Helper()
	caFile := config.str("extensions", "redis_storage", "tls", "ca_file")
	if caFile == "" {
		return
	}
	readme, err := os.ReadFile(kubernetesDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, mount := range container.VolumeMounts {
		name, found := strings.CutPrefix(caFile, mount.MountPath+"/")
		volume := volumeNamed(pod, mount.Name)
		if !found || volume == nil || volume.Secret == nil {
			continue
		}
		for _, item := range volume.Secret.Items {
			if item.Path != name {
				continue
			}
			command := regexp.MustCompile(`kubectl create secret generic ` + regexp.QuoteMeta(volume.Secret.SecretName) +
				`\b[^\n\\]*(\\\n[^\n\\]*)*`).Find(readme)
			if !bytes.Contains(command, []byte("--from-file="+item.Key+"=")) {
				t.Errorf("redis_storage's tls.ca_file is key %q of Secret %s, which docs/kubernetes.md's kubectl command does not create",
					item.Key, volume.Secret.SecretName)
			}
			return
		}
	}
	t.Errorf("redis_storage's tls.ca_file %s is on no Secret mounted in container %s", caFile, container.Name)
}

// checkEnv checks that the container sets every variable the config reads,
// that secrets come from one Secret whose keys docs/kubernetes.md's kubectl command
// creates, and that GOMEMLIMIT is about 90 % of the container's memory limit.
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
	readme, err := os.ReadFile(kubernetesDoc)
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
			t.Errorf("%s reads key %q of Secret %s, which docs/kubernetes.md's `kubectl create secret generic %s` does not create",
				e.Name, ref.Key, ref.Name, ref.Name)
		}
	}
	if len(secrets) != 1 {
		t.Errorf("want the secrets in one Secret, found %v", slices.Sorted(maps.Keys(secrets)))
	}
	// A literal: the downward API gives the whole limit (a divisor only changes its unit), which
	// would leave the Go runtime no room below the OOM kill.
	limit, ok := container.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		t.Errorf("container %s has no memory limit for GOMEMLIMIT", container.Name)
		return
	}
	gomemlimit, ok := parseGoByteCount(env["GOMEMLIMIT"].Value)
	if !ok || env["GOMEMLIMIT"].ValueFrom != nil {
		t.Errorf("GOMEMLIMIT is %q, want bytes as the Go runtime reads them (e.g. 230MiB: B, KiB, MiB, GiB, TiB; not Mi)",
			env["GOMEMLIMIT"].Value)
		return
	}
	if ratio := float64(gomemlimit) / float64(limit.Value()); ratio < 0.85 || ratio > 0.95 {
		t.Errorf("GOMEMLIMIT %s is %.0f %% of the memory limit %s, want about 90 %% (85 to 95 %%)",
			env["GOMEMLIMIT"].Value, 100*ratio, limit.String())
	}
}

// parseGoByteCount reads a byte count as the Go runtime reads GOMEMLIMIT: an
// integer, optionally followed by B, KiB, MiB, GiB or TiB.
func parseGoByteCount(s string) (int64, bool) {
	m := regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`).FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	if n > (1<<63-1)>>shift {
		return 0, false
	}
	return n << shift, true
}

// checkResources checks that the container requests memory and CPU and that
// no limit is below its request (the API server refuses such a pod).
func checkResources(t *testing.T, container corev1.Container) {
	t.Helper()
	res := container.Resources
	for _, name := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceCPU} {
		if _, ok := res.Requests[name]; !ok {
			t.Errorf("container %s requests no %s", container.Name, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(res.Requests)) {
		request := res.Requests[name]
		if limit, ok := res.Limits[name]; ok && limit.Cmp(request) < 0 {
			t.Errorf("container %s: the %s limit %s is below its request %s", container.Name, name, limit.String(), request.String())
		}
	}
}

// checkSelector checks that the Deployment's selector selects the pods of its
// template (the API server refuses it otherwise).
func checkSelector(t *testing.T, deployment *appsv1.Deployment) {
	t.Helper()
	if !selects(t, deployment.Spec.Selector, deployment.Spec.Template.Labels) {
		t.Errorf("Deployment %s: selector %s does not select its pods (labels %v)",
			deployment.Name, metav1.FormatLabelSelector(deployment.Spec.Selector), deployment.Spec.Template.Labels)
	}
}

// selects reports whether the selector is not empty and matches the labels.
func selects(t *testing.T, selector *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	if selector == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		t.Errorf("selector %v: %v", selector, err)
		return false
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// imageReference is the grammar of an image reference,
// name[:tag][@digest] (github.com/distribution/reference).
var imageReference = func() *regexp.Regexp {
	const (
		alphanumeric    = `[a-z0-9]+`
		separator       = `(?:[._]|__|[-]+)`
		pathComponent   = alphanumeric + `(?:` + separator + alphanumeric + `)*`
		domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		host            = `(?:` + domainComponent + `(?:\.` + domainComponent + `)*|\[[a-fA-F0-9:]+\])`
		name            = `(?:` + host + `(?::[0-9]+)?/)?` + pathComponent + `(?:/` + pathComponent + `)*`
		tag             = `[\w][\w.-]{0,127}`
		digest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}`
	)
	return regexp.MustCompile(`^(` + name + `)(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// checkImage checks that the image is a valid reference, pinned by its digest.
func checkImage(t *testing.T, container corev1.Container) {
	t.Helper()
	m := imageReference.FindStringSubmatch(container.Image)
	switch {
	case m == nil || len(m[1]) > 255:
		t.Errorf("container %s: image %q is not a valid image reference (name[:tag][@digest])", container.Name, container.Image)
	case !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(container.Image):
		t.Errorf("container %s: image %q is not pinned by its digest (…@sha256:<64 hex digits>; docs/kubernetes.md says how)",
			container.Name, container.Image)
	}
}

// checkProbes checks the probes' numbers as the API server does: none negative,
// and a liveness probe succeeds after one success.
func checkProbes(t *testing.T, container corev1.Container) {
	t.Helper()
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"readiness", container.ReadinessProbe}, {"liveness", container.LivenessProbe}, {"startup", container.StartupProbe}} {
		if p.probe == nil {
			continue
		}
		for _, field := range []struct {
			name  string
			value int32
		}{
			{"initialDelaySeconds", p.probe.InitialDelaySeconds}, {"timeoutSeconds", p.probe.TimeoutSeconds},
			{"periodSeconds", p.probe.PeriodSeconds}, {"successThreshold", p.probe.SuccessThreshold},
			{"failureThreshold", p.probe.FailureThreshold},
		} {
			if field.value < 0 {
				t.Errorf("container %s: the %s probe's %s is %d, must not be negative", container.Name, p.name, field.name, field.value)
			}
		}
		if p.name != "readiness" && p.probe.SuccessThreshold > 1 {
			t.Errorf("container %s: the %s probe's successThreshold is %d, must be 1", container.Name, p.name, p.probe.SuccessThreshold)
		}
	}
}

// checkMetrics checks that the collector serves its own metrics to Prometheus
// on the pod's IP, on a port of the container that the pod's scrape
// annotations name.
func checkMetrics(t *testing.T, config collectorConfig, template corev1.PodTemplateSpec, container corev1.Container) {
	t.Helper()
	var prometheus map[string]any
	readers, _ := config.get("service", "telemetry", "metrics", "readers").([]any)
	for _, r := range readers {
		reader := collectorConfig{"reader": r}
		if p, ok := reader.get("reader", "pull", "exporter", "prometheus").(map[string]any); ok {
			prometheus = p
		}
	}
	if prometheus == nil {
		t.Errorf("service::telemetry::metrics has no Prometheus pull reader")
		return
	}
	host, _ := prometheus["host"].(string)
	port := fmt.Sprint(prometheus["port"])
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip == nil || !ip.IsUnspecified() {
		t.Errorf("the collector's metrics listen on %q, not reachable at the pod's IP: want 0.0.0.0", host)
	}
	declared := false
	for _, p := range container.Ports {
		declared = declared || fmt.Sprint(p.ContainerPort) == port
	}
	if !declared {
		t.Errorf("container %s does not declare the metrics port %s", container.Name, port)
	}
	for _, a := range [][2]string{{"prometheus.io/scrape", "true"}, {"prometheus.io/port", port}, {"prometheus.io/path", "/metrics"}} {
		if got := template.Annotations[a[0]]; got != a[1] {
			t.Errorf("the pod's annotation %s is %q, want %q", a[0], got, a[1])
		}
	}
}

// checkAntiAffinity checks that the replicas of a variant with more than one
// are kept on different nodes, so that one node failure leaves a replica.
func checkAntiAffinity(t *testing.T, v variant, pod corev1.PodSpec, podLabels map[string]string) {
	t.Helper()
	if v.replicas < 2 {
		return
	}
	var terms []corev1.PodAffinityTerm
	if a := pod.Affinity; a != nil && a.PodAntiAffinity != nil {
		terms = a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, term := range terms {
		if term.TopologyKey == corev1.LabelHostname && selects(t, term.LabelSelector, podLabels) {
			return
		}
	}
	t.Errorf("%d replicas without a pod anti-affinity on %s that selects them: both may run on one node", v.replicas, corev1.LabelHostname)
}

// checkDisruptionBudget checks that voluntary disruptions (a node drain) take
// the replicas of a variant with more than one down one at a time, without
// ever blocking a drain; and that a single replica has no budget (it could
// only block every drain, or allow the eviction anyway).
func checkDisruptionBudget(t *testing.T, v variant, m manifests, podLabels map[string]string) {
	t.Helper()
	if v.replicas < 2 {
		if len(m.budgets) > 0 {
			t.Errorf("PodDisruptionBudget %v for one replica: it would block every node drain or allow the eviction anyway",
				slices.Sorted(maps.Keys(m.budgets)))
		}
		return
	}
	pdb := one(t, "PodDisruptionBudget", m.budgets)
	if !selects(t, pdb.Spec.Selector, podLabels) {
		t.Errorf("PodDisruptionBudget %s: selector %s does not select the pods (labels %v)",
			pdb.Name, metav1.FormatLabelSelector(pdb.Spec.Selector), podLabels)
	}
	replicas := int(v.replicas)
	var allowed int
	switch spec := pdb.Spec; {
	case spec.MaxUnavailable != nil && spec.MinAvailable == nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, replicas, true)
		if err != nil {
			t.Fatalf("PodDisruptionBudget %s: %v", pdb.Name, err)
		}
		allowed = n
	case spec.MinAvailable != nil && spec.MaxUnavailable == nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, replicas, true)
		if err != nil {
			t.Fatalf("PodDisruptionBudget %s: %v", pdb.Name, err)
		}
		allowed = replicas - n
	default:
		t.Fatalf("PodDisruptionBudget %s: want one of maxUnavailable and minAvailable", pdb.Name)
	}
	if allowed < 1 || allowed >= replicas {
		t.Errorf("PodDisruptionBudget %s lets %d of %d replicas go at once: want at least 1 (else a node drain waits forever) "+
			"and fewer than all (else nothing stands by)", pdb.Name, allowed, replicas)
	}
}

// checkNetworkPolicy checks that one NetworkPolicy selects the pods, isolates
// them both ways, lets in every port of the container (the probes', the
// metrics') and lets out DNS, HTTPS to the Cloudflare API, the OTLP endpoint
// and, as the config needs them, Redis and the Kubernetes API.
func checkNetworkPolicy(t *testing.T, m manifests, podLabels map[string]string, container corev1.Container, config collectorConfig) {
	t.Helper()
	np := one(t, "NetworkPolicy", m.networkPolicies)
	if !selects(t, &np.Spec.PodSelector, podLabels) {
		t.Errorf("NetworkPolicy %s: podSelector %s does not select the pods (labels %v)",
			np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), podLabels)
	}
	for _, typ := range []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress} {
		if !slices.Contains(np.Spec.PolicyTypes, typ) {
			t.Errorf("NetworkPolicy %s: policyTypes %v, want %s among them", np.Name, np.Spec.PolicyTypes, typ)
		}
	}
	named := map[string]int32{}
	for _, p := range container.Ports {
		named[p.Name] = p.ContainerPort
	}
	for _, p := range container.Ports {
		in := false
		for _, rule := range np.Spec.Ingress {
			in = in || allowsPort(rule.Ports, named, corev1.ProtocolTCP, p.ContainerPort)
		}
		if !in {
			t.Errorf("NetworkPolicy %s does not let in port %s (%d) of container %s", np.Name, p.Name, p.ContainerPort, container.Name)
		}
	}
	env := map[string]string{}
	for _, e := range container.Env {
		env[e.Name] = e.Value
	}
	cloudflare := config.str("receivers", "cloudflare_identity", "endpoint")
	if cloudflare == "" {
		cloudflare = "https://api.cloudflare.com/client/v4"
	}
	type destination struct {
		what     string
		protocol corev1.Protocol
		port     int32
	}
	out := []destination{
		{"DNS", corev1.ProtocolUDP, 53}, {"DNS", corev1.ProtocolTCP, 53},
		{"the Cloudflare API " + cloudflare, corev1.ProtocolTCP, urlPort(t, cloudflare)},
		{"the OTLP endpoint (OTLP_ENDPOINT " + env["OTLP_ENDPOINT"] + ")", corev1.ProtocolTCP, urlPort(t, env["OTLP_ENDPOINT"])},
	}
	if config.has("extensions", "redis_storage") {
		_, port, err := net.SplitHostPort(env["REDIS_ENDPOINT"])
		n, _ := strconv.Atoi(port)
		if err != nil || n == 0 {
			t.Errorf("REDIS_ENDPOINT %q is not a literal host:port", env["REDIS_ENDPOINT"])
		}
		out = append(out, destination{"Redis (REDIS_ENDPOINT " + env["REDIS_ENDPOINT"] + ")", corev1.ProtocolTCP, int32(n)})
	}
	if config.has("extensions", "k8s_leader_elector") { // the API server's endpoints listen on either, by distribution
		out = append(out, destination{"the Kubernetes API", corev1.ProtocolTCP, 443}, destination{"the Kubernetes API", corev1.ProtocolTCP, 6443})
	}
	for _, d := range out {
		allowed := false
		for _, rule := range np.Spec.Egress {
			allowed = allowed || allowsPort(rule.Ports, nil, d.protocol, d.port)
		}
		if !allowed {
			t.Errorf("NetworkPolicy %s does not let out %s/%d: %s", np.Name, d.protocol, d.port, d.what)
		}
	}
}

// allowsPort reports whether a rule's ports let through protocol/port; named
// resolves port names (of the pod's containers).
func allowsPort(ports []networkingv1.NetworkPolicyPort, named map[string]int32, protocol corev1.Protocol, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if (p.Protocol == nil && protocol != corev1.ProtocolTCP) || (p.Protocol != nil && *p.Protocol != protocol) {
			continue
		}
		if p.Port == nil {
			return true
		}
		first := p.Port.IntVal
		if p.Port.Type == intstr.String {
			n, ok := named[p.Port.StrVal]
			if !ok {
				continue
			}
			first = n
		}
		last := first
		if p.EndPort != nil {
			last = *p.EndPort
		}
		if first <= port && port <= last {
			return true
		}
	}
	return false
}

// urlPort is the TCP port of an http(s) URL.
func urlPort(t *testing.T, raw string) int32 {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Errorf("%q is not a literal http(s) URL", raw)
		return 0
	}
	port := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	if u.Port() != "" {
		port = u.Port()
	}
	n, _ := strconv.Atoi(port)
	return int32(n)
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
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	seccomp := csc.SeccompProfile // the container's, else the pod's
	if seccomp == nil && sc != nil {
		seccomp = sc.SeccompProfile
	}
	for _, want := range []struct {
		ok   bool
		what string
	}{
		{isTrue(csc.ReadOnlyRootFilesystem), "have a read-only root filesystem"},
		{csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation, "not allow privilege escalation (allowPrivilegeEscalation: false)"},
		{!isTrue(csc.Privileged), "not be privileged"},
		{csc.Capabilities != nil && slices.Contains(csc.Capabilities.Drop, "ALL"), "drop all capabilities (capabilities.drop: [ALL])"},
		{csc.Capabilities == nil || len(csc.Capabilities.Add) == 0, "add no capabilities"},
		{seccomp != nil && (seccomp.Type == corev1.SeccompProfileTypeRuntimeDefault || seccomp.Type == corev1.SeccompProfileTypeLocalhost),
			"run under a seccomp profile (seccompProfile.type RuntimeDefault or Localhost, of the pod or the container)"},
	} {
		if !want.ok {
			t.Errorf("container %s must %s", container.Name, want.what)
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// checkLease checks the leader election: the receiver follows the elector,
// whose lease is in the pod's namespace, and the pod's service account may
// do with leases what the elector does, no more: get and update its lease
// (resourceNames: lease_name), and create a lease (create cannot be
// restricted by name).
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
	lease := config.str("extensions", "k8s_leader_elector", "lease_name")
	if lease == "" || strings.Contains(lease, "${") {
		t.Errorf("extensions::k8s_leader_elector::lease_name is %q, want a name the Role can grant", lease)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{lease}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
	}
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
// with a placeholder for every variable it reads, and the container's
// GOMEMLIMIT (the Go runtime refuses to start on one it cannot read).
func validate(t *testing.T, configText string, container corev1.Container) {
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
	for _, e := range container.Env {
		if e.Name == "GOMEMLIMIT" {
			cmd.Env = append(cmd.Env, "GOMEMLIMIT="+e.Value)
		}
	}
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
