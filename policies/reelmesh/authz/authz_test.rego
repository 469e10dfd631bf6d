# METADATA
# title: ReelMesh authorization tests
# description: >-
#   Runs every shared decision vector (policies/vectors/decisions.json, loaded by
#   `opa test policies/` as data.vectors) against the policy, plus a few hand-written
#   cases that swap the data document to show the policy is data-driven and fails closed.
package reelmesh.authz_test

import data.reelmesh.authz

_owner_to_vfx_1 := {
	"attributes": {
		"source": {"principal": "spiffe://reelmesh.local/ns/owner/sa/owner"},
		"destination": {"principal": "spiffe://reelmesh.local/ns/vfx/sa/vfx-1"},
		"request": {"http": {"method": "POST", "path": "/v1/handoffs/feature-film/demux/av/0"}},
	},
	"parsed_path": ["v1", "handoffs", "feature-film", "demux", "av", "0"],
	"parsed_query": {},
}

# A vector without "input" is the "no input at all" case: opa test runs with no input.
_decision(vector) := result if {
	"input" in object.keys(vector)
	result := authz.decision with input as vector.input
}

_decision(vector) := result if {
	not "input" in object.keys(vector)
	result := authz.decision
}

_allow(vector) := result if {
	"input" in object.keys(vector)
	result := authz.allow with input as vector.input
}

_allow(vector) := result if {
	not "input" in object.keys(vector)
	result := authz.allow
}

_holds(vector) if {
	_decision(vector) == vector.expected
	_allow(vector) == vector.expected.allowed
}

test_vectors_are_loaded if {
	count(data.vectors) > 0
}

test_every_vector_holds if {
	every vector in data.vectors {
		_holds(vector)
	}
}

# Same check, but names the failing vectors (opa test prints them when the test fails).
test_no_vector_fails if {
	failing := [vector.name | some vector in data.vectors; not _holds(vector)]
	print("failing decision vectors:", failing)
	failing == []
}

test_owner_may_hand_off_to_vfx_1 if {
	authz.allow with input as _owner_to_vfx_1
}

# OPA treats a request with no input, or with input null, as having no input document: the
# first check that fails is then the source principal, not "input_missing".
test_no_input_is_source_principal_missing if {
	authz.decision == {"allowed": false, "reason": "source_principal_missing"}
	not authz.allow
}

test_input_null_is_source_principal_missing if {
	authz.decision == {"allowed": false, "reason": "source_principal_missing"} with input as null
	not authz.allow with input as null
}

# An input that is given but is not an object is "input_missing".
test_input_not_an_object_is_input_missing if {
	authz.reason == "input_missing" with input as []
	authz.reason == "input_missing" with input as [_owner_to_vfx_1]
	authz.reason == "input_missing" with input as "x"
	authz.reason == "input_missing" with input as ""
	authz.reason == "input_missing" with input as 1
	authz.reason == "input_missing" with input as 0
	authz.reason == "input_missing" with input as true
	authz.reason == "input_missing" with input as false
	not authz.allow with input as [_owner_to_vfx_1]
}

test_input_empty_object_is_source_principal_missing if {
	authz.reason == "source_principal_missing" with input as {}
}

test_no_edges_denies_everything if {
	not authz.allow with input as _owner_to_vfx_1 with data.reelmesh.edges as {}
	authz.reason == "edge_forbidden" with input as _owner_to_vfx_1 with data.reelmesh.edges as {}
}

test_no_principals_denies_everything if {
	authz.reason == "source_unknown" with input as _owner_to_vfx_1 with data.reelmesh.principals as {}
}

test_other_workflow_id_denies if {
	authz.reason == "workflow_unknown" with input as _owner_to_vfx_1 with data.reelmesh.workflow as {"id": "other-film"}
}

test_edge_value_other_than_true_denies if {
	edges := {"spiffe://reelmesh.local/ns/vfx/sa/vfx-1": {"spiffe://reelmesh.local/ns/owner/sa/owner": {"demux": {"av": false}}}}
	authz.reason == "handoff_not_allowed" with input as _owner_to_vfx_1 with data.reelmesh.edges as edges
}
