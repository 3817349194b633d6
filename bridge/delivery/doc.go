// Package delivery drains the outbox into BigCommerce.
package delivery
