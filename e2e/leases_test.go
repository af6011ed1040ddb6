//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// leaseDecoder reads Leases as client-go sends them: protobuf (client-go's
// default for built-in types) or JSON.
var leaseDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	if err := coordinationv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(scheme).UniversalDeserializer()
}()

// leaseServer is the part of a Kubernetes API server that leader election
// uses: coordination.k8s.io/v1 Leases, read, created and replaced with
// optimistic concurrency (a replace naming a stale resourceVersion gets 409
// Conflict, as from kube-apiserver). It stands in for a cluster, which this
// machine does not have; client-go's leader election talks to it over HTTP
// through a kubeconfig. It answers in JSON, which client-go accepts.
type leaseServer struct {
	url string

	mu      sync.Mutex
	leases  map[string]*coordinationv1.Lease // by namespace/name, as last stored
	version int                              // the cluster-wide resourceVersion counter
	// conflicts counts the writes refused with 409: a lease created twice,
	// or replaced from a stale resourceVersion.
	conflicts int
}

func startLeaseServer(t *testing.T) *leaseServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("lease server listen: %v", err)
	}
	s := &leaseServer{url: "http://" + ln.Addr().String(), leases: map[string]*coordinationv1.Lease{}}
	mux := http.NewServeMux()
	const base = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
	mux.HandleFunc("GET "+base+"/{name}", s.get)
	mux.HandleFunc("POST "+base, s.create)
	mux.HandleFunc("PUT "+base+"/{name}", s.replace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// kubeconfig writes a kubeconfig that points client-go at the server and
// returns its path (for KUBECONFIG).
func (s *leaseServer) kubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
users:
- name: test
  user:
    token: test-token
contexts:
- name: test
  context:
    cluster: test
    user: test
    namespace: default
current-context: test
`, s.url)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// refused returns how many writes were refused with 409 Conflict.
func (s *leaseServer) refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conflicts
}

func (s *leaseServer) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lease := s.leases[r.PathValue("namespace")+"/"+r.PathValue("name")]
	if lease == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", "leases.coordination.k8s.io \""+r.PathValue("name")+"\" not found")
		return
	}
	writeObject(w, http.StatusOK, lease)
}

func (s *leaseServer) create(w http.ResponseWriter, r *http.Request) {
	lease, ok := decodeLease(w, r)
	if !ok {
		return
	}
	key := r.PathValue("namespace") + "/" + lease.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases[key] != nil {
		s.conflicts++
		writeStatus(w, http.StatusConflict, "AlreadyExists", "leases.coordination.k8s.io \""+lease.Name+"\" already exists")
		return
	}
	s.store(key, lease, r.PathValue("namespace"))
	writeObject(w, http.StatusCreated, lease)
}

func (s *leaseServer) replace(w http.ResponseWriter, r *http.Request) {
	lease, ok := decodeLease(w, r)
	if !ok {
		return
	}
	key := r.PathValue("namespace") + "/" + r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.leases[key]
	if stored == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", "leases.coordination.k8s.io \""+r.PathValue("name")+"\" not found")
		return
	}
	if lease.ResourceVersion != stored.ResourceVersion {
		s.conflicts++
		writeStatus(w, http.StatusConflict, "Conflict", "Operation cannot be fulfilled on leases.coordination.k8s.io \""+
			r.PathValue("name")+"\": the object has been modified; please apply your changes to the latest version and try again")
		return
	}
	s.store(key, lease, r.PathValue("namespace"))
	writeObject(w, http.StatusOK, lease)
}

// store keeps lease under key with the next resourceVersion.
func (s *leaseServer) store(key string, lease *coordinationv1.Lease, namespace string) {
	s.version++
	lease.ResourceVersion = strconv.Itoa(s.version)
	lease.Namespace = namespace
	lease.APIVersion, lease.Kind = "coordination.k8s.io/v1", "Lease"
	s.leases[key] = lease
}

func decodeLease(w http.ResponseWriter, r *http.Request) (*coordinationv1.Lease, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
		return nil, false
	}
	object, _, err := leaseDecoder.Decode(body, nil, nil)
	lease, ok := object.(*coordinationv1.Lease)
	if err != nil || !ok {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("not a Lease (%s): %v", r.Header.Get("Content-Type"), err))
		return nil, false
	}
	return lease, true
}

func writeObject(w http.ResponseWriter, code int, object any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(object)
}

// writeStatus answers as kube-apiserver does on errors: a v1 Status.
func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	writeObject(w, code, map[string]any{"apiVersion": "v1", "kind": "Status", "status": "Failure",
		"reason": reason, "message": message, "code": code})
}
