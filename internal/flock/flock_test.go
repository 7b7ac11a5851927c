package flock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestTryLockExcludesWithinProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "x.lock")
	unlock, err := TryLock(path, "first")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path, "second"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock: %v, want ErrLocked", err)
	}
	unlock()
	unlock2, err := TryLock(path, "third")
	if err != nil {
		t.Fatalf("TryLock after unlock: %v", err)
	}
	unlock2()
}

func TestLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(path, "")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time)
	go func() {
		u, err := Lock(path, "")
		if err != nil {
			t.Error(err)
		}
		got <- time.Now()
		u()
	}()
	time.Sleep(50 * time.Millisecond)
	released := time.Now()
	unlock()
	if at := <-got; at.Before(released) {
		t.Fatal("Lock returned while the lock was held")
	}
}

// TestLockDiesWithProcess holds a lock in a child process, kills it, and
// takes the lock.
func TestLockDiesWithProcess(t *testing.T) {
	if path := os.Getenv("FLOCK_HOLD"); path != "" {
		if _, err := TryLock(path, "child"); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDiesWithProcess$")
	cmd.Env = append(os.Environ(), "FLOCK_HOLD="+path)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("child: %q %v", buf, err)
	}
	if _, err := TryLock(path, ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while the child holds it: %v, want ErrLocked", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	unlock, err := TryLock(path, "")
	if err != nil {
		t.Fatalf("TryLock after the holder died: %v", err)
	}
	unlock()
}
