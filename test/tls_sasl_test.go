package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/faultline-dev/faultline/kafkatest"
)

// selfSigned returns a TLS certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "faultline test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	require.NoError(t, err)
	return cert, certPEM
}

// TestIngestOverTLSWithSCRAM runs `ingest run` against a broker that only
// speaks TLS and requires SASL SCRAM-SHA-256, with the password in the
// environment, and checks that everything is stored and the password is
// never logged.
func TestIngestOverTLSWithSCRAM(t *testing.T) {
	const user, password = "faultline", "correct-horse-battery-staple"
	cert, certPEM := selfSigned(t)
	port := kafkatest.FreePort(t)
	topic := "integration-logs"
	cluster, err := kfake.NewCluster(
		kfake.Ports(port),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", user, password),
		kfake.SeedTopics(2, topic),
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
	)
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	addr := "127.0.0.1:" + strconv.Itoa(port)

	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(certPEM))
	mech, err := scram.Mechanism(scram.SHA256, user, password)
	require.NoError(t, err)
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, Balancer: &kafka.RoundRobin{}, RequiredAcks: kafka.RequireAll,
		Transport: &kafka.Transport{TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, SASL: mech}}
	recs := records(3000, 8)
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Value: r}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	require.NoError(t, w.Close())

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, certPEM, 0o600))
	e := &env{t: t, topic: topic, group: "faultline-tls", dbURL: newDatabase(t)}
	var errDB error
	e.db, errDB = pgxpoolNew(e.dbURL)
	require.NoError(t, errDB)
	t.Cleanup(e.db.Close)

	p := newProc(t, "run", "--kafka-brokers", addr, "--kafka-topic", topic, "--kafka-group", e.group,
		"--database-url", e.dbURL, "--migrate", "--max-record-bytes", "65536",
		"--kafka-tls", "--kafka-tls-ca", caFile,
		"--kafka-sasl-mechanism", "scram-sha-256", "--kafka-sasl-user", user,
		"--kafka-session-timeout", "2s", "--kafka-heartbeat-interval", "300ms")
	p.cmd.Env = append(os.Environ(), "KAFKA_SASL_PASSWORD="+password)
	p.start(t)

	p.waitReady(t, 60*time.Second) // --migrate has run, the consumer runs
	e.waitStored(60*time.Second, int64(len(recs))-1, p)
	p.stop(t)
	requireSameState(t, expect(t, recs, 65536), e.snapshot())
	require.NotContains(t, p.logs(), password, "the SASL password is never logged")
	require.False(t, strings.Contains(p.logs(), `"level":"ERROR"`), "no errors logged:\n%s", tail(p.logs(), 3000))
}
