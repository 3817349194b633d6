// Package apptest runs whole bridges in the tests of other packages: [Start]
// builds one with bridge/app from a configuration, serves SCIM and telemetry
// on 127.0.0.1 ports of its own and stops it when the test ends; [SimServer]
// puts the BigCommerce simulator behind an HTTP server; [Config] is a
// configuration for such a pair (short lingers and lease, a known SCIM
// token); [ForProfiles] runs a test against each simulator profile; and the
// body builders ([UserJSON], [ActiveJSON], [AddMembersJSON], ...) write the
// SCIM requests the tests send.
//
// Everything goes through the real HTTP stack: the bridge's listeners, the
// simulator's server and a plain net/http client.
package apptest
