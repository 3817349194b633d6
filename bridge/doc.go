// Package bridge holds the domain logic of scim-bridge: what a SCIM change means
// for BigCommerce.
//
// The SCIM layer (package scim) calls a [Service] for every read and write. A
// write is validated, checked for uniqueness, and committed to the store in one
// transaction together with the downstream intents it implies (the outbox):
//
//   - a user that is active and has a usable email is "present": it should be in
//     the BigCommerce account and in every store its groups map to;
//   - becoming present adds it to the account and to its stores; ceasing to be
//     present (deactivation, DELETE) removes it from the account, which takes its
//     store access with it; an email change while present is a removal of the old
//     email and an addition of the new one;
//   - group membership, group renames and group deletion change the set of stores
//     of the affected present users, one store intent per change.
//
// Intents are computed by diffing the user's access before and after the change
// ([Access] and [Diff]), never from the shape of the request, so every SCIM
// request shape (PUT, PATCH, path-less or filtered) yields the same intents for
// the same change. Delivery of intents to BigCommerce is a separate component.
//
// # An absent active never grants access
//
// Only a create defaults to active: a user created without "active" is
// active. A write to an existing user whose attributes lack "active" (a PUT
// without it, a PATCH that removes it, or one that sets it to null) keeps the
// user's current state, so an inactive user stays inactive and nothing is
// queued for BigCommerce. Access is granted only by an explicit active true.
//
// # What a write may hold
//
// The Service refuses, with an [InvalidError] (SCIM 400 invalidValue), before
// the store sees it and alike for every backend:
//
//   - NUL or invalid UTF-8 in any attribute name or string value;
//   - a userName over [MaxUserNameBytes], an externalId over
//     [MaxExternalIDBytes] or a displayName over [MaxDisplayNameBytes] bytes
//     (users and groups), an emails[].value over [MaxEmailChars] characters,
//     an emails[].type over [MaxEmailTypeBytes] bytes (these attributes are
//     indexed, and PostgreSQL refuses index entries over about 2,700 bytes);
//   - a multi-valued attribute with more than [MaxValues] values, and a group
//     write naming more than [MaxMembers] members, or a member value that
//     cannot be a user id.
//
// A lookup, update or delete by an id that cannot exist ([ValidID]: empty,
// NUL, invalid UTF-8, longer than [MaxIDBytes]) is ErrNotFound without a
// store query; removing such a member is no change. Error texts never quote
// values or the ids a client sent.
package bridge
