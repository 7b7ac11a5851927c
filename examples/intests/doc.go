// Package intests shows how a host tests its own features on data that
// idsync synchronized, with no file and no database: the managed system is
// rows given in Go (connector/memconn) and the repository is the
// in-memory store (sync/memstore).
//
// The pretend host feature is [ProvisionEmails]: it derives mailbox
// addresses from the HR people that idsync keeps in the store. Its tests
// (intests_test.go) follow one pattern:
//
//  1. declare the connector's model in Go, with thresholds switched off
//     (threshold.PercentOff, threshold.CountOff): a test's data are small
//     and made up, and a first load into an empty store must not block;
//  2. feed rows with memconn.Connector.Set and run an idsync.Engine whose
//     work folder is t.TempDir();
//  3. assert on the store (memstore.Store.Get, Count) and on the feature;
//  4. change the rows, run again, and assert on the run's counts and on
//     its change set (Run.ChangeSet, ChangeSet.Resources).
//
// One test keeps the default thresholds, to show that a first load blocks
// (errors.Is(err, idsync.ErrBlocked)) and that Resume applies it.
package intests
