/*
 * tests/abi/test_abi_pins.c - the plugin ABI's layout, pinned.
 *
 * Every public struct's size and every member's offset on LP64 (x86_64,
 * aarch64) is written down here. A change that moves a member or shrinks a
 * struct fails the build with the name of what moved: within ABI major 1,
 * members are only appended, so the only edits allowed here are new
 * PIN_OFF lines for new members and a larger PIN_SIZE (with the minor
 * bumped in abi/ucs/version.h). The program also checks the same facts at
 * run time, so the suite counts it as a test.
 */
#include <stddef.h>
#include <stdio.h>

#include <ucs/ucs.h>

#if !defined(__LP64__)
#error "the pins below are for LP64 targets"
#endif

static int pins;

#define PIN_SIZE(s, n)                                                            \
	_Static_assert(sizeof(struct s) == (n), "sizeof(struct " #s ") changed"); \
	static void pin_size_##s(void)                                            \
	{                                                                         \
		pins += sizeof(struct s) == (n);                                  \
	}
#define PIN_OFF(s, m, n) \
	_Static_assert(offsetof(struct s, m) == (n), "offsetof(struct " #s ", " #m ") changed");

PIN_SIZE(ucs_phone, 48);
PIN_OFF(ucs_phone, text, 0);
PIN_SIZE(ucs_id, 64);
PIN_OFF(ucs_id, text, 0);
PIN_SIZE(ucs_plugin_desc, 104);
PIN_OFF(ucs_plugin_desc, size, 0);
PIN_OFF(ucs_plugin_desc, abi_major, 4);
PIN_OFF(ucs_plugin_desc, abi_minor, 6);
PIN_OFF(ucs_plugin_desc, name, 8);
PIN_OFF(ucs_plugin_desc, version, 16);
PIN_OFF(ucs_plugin_desc, license, 24);
PIN_OFF(ucs_plugin_desc, description, 32);
PIN_OFF(ucs_plugin_desc, requires, 40);
PIN_OFF(ucs_plugin_desc, provides, 48);
PIN_OFF(ucs_plugin_desc, config, 56);
PIN_OFF(ucs_plugin_desc, init, 64);
PIN_OFF(ucs_plugin_desc, start, 72);
PIN_OFF(ucs_plugin_desc, reload, 80);
PIN_OFF(ucs_plugin_desc, stop, 88);
PIN_OFF(ucs_plugin_desc, fini, 96);
PIN_SIZE(ucs_log_api, 32);
PIN_OFF(ucs_log_api, size, 0);
PIN_OFF(ucs_log_api, log, 8);
PIN_OFF(ucs_log_api, logv, 16);
PIN_OFF(ucs_log_api, enabled, 24);
PIN_SIZE(ucs_timer_api, 64);
PIN_OFF(ucs_timer_api, size, 0);
PIN_OFF(ucs_timer_api, open, 8);
PIN_OFF(ucs_timer_api, start, 16);
PIN_OFF(ucs_timer_api, stop, 24);
PIN_OFF(ucs_timer_api, active, 32);
PIN_OFF(ucs_timer_api, close, 40);
PIN_OFF(ucs_timer_api, once, 48);
PIN_OFF(ucs_timer_api, now_ms, 56);
PIN_SIZE(ucs_work_api, 24);
PIN_OFF(ucs_work_api, size, 0);
PIN_OFF(ucs_work_api, queue, 8);
PIN_OFF(ucs_work_api, cancel, 16);
PIN_SIZE(ucs_listen_opts, 48);
PIN_OFF(ucs_listen_opts, size, 0);
PIN_OFF(ucs_listen_opts, name, 8);
PIN_OFF(ucs_listen_opts, address, 16);
PIN_OFF(ucs_listen_opts, port, 24);
PIN_OFF(ucs_listen_opts, tls, 28);
PIN_OFF(ucs_listen_opts, cert_file, 32);
PIN_OFF(ucs_listen_opts, key_file, 40);
PIN_SIZE(ucs_conn_handlers, 40);
PIN_OFF(ucs_conn_handlers, size, 0);
PIN_OFF(ucs_conn_handlers, on_data, 8);
PIN_OFF(ucs_conn_handlers, on_close, 16);
PIN_OFF(ucs_conn_handlers, on_connected, 24);
PIN_OFF(ucs_conn_handlers, on_drain, 32);
PIN_SIZE(ucs_connect_opts, 72);
PIN_OFF(ucs_connect_opts, size, 0);
PIN_OFF(ucs_connect_opts, host, 8);
PIN_OFF(ucs_connect_opts, port, 16);
PIN_OFF(ucs_connect_opts, tls, 20);
PIN_OFF(ucs_connect_opts, verify_none, 24);
PIN_OFF(ucs_connect_opts, sni, 32);
PIN_OFF(ucs_connect_opts, ca_file, 40);
PIN_OFF(ucs_connect_opts, cert_file, 48);
PIN_OFF(ucs_connect_opts, key_file, 56);
PIN_OFF(ucs_connect_opts, timeout_ms, 64);
PIN_SIZE(ucs_srv_record, 262);
PIN_OFF(ucs_srv_record, priority, 0);
PIN_OFF(ucs_srv_record, weight, 2);
PIN_OFF(ucs_srv_record, port, 4);
PIN_OFF(ucs_srv_record, target, 6);
PIN_SIZE(ucs_net_api, 168);
PIN_OFF(ucs_net_api, size, 0);
PIN_OFF(ucs_net_api, listen, 8);
PIN_OFF(ucs_net_api, listener_port, 16);
PIN_OFF(ucs_net_api, listener_close, 24);
PIN_OFF(ucs_net_api, connect, 32);
PIN_OFF(ucs_net_api, set_handlers, 40);
PIN_OFF(ucs_net_api, send, 48);
PIN_OFF(ucs_net_api, pending, 56);
PIN_OFF(ucs_net_api, pause_read, 64);
PIN_OFF(ucs_net_api, resume_read, 72);
PIN_OFF(ucs_net_api, is_tls, 80);
PIN_OFF(ucs_net_api, peer_addr, 88);
PIN_OFF(ucs_net_api, local_addr, 96);
PIN_OFF(ucs_net_api, close, 104);
PIN_OFF(ucs_net_api, udp_open, 112);
PIN_OFF(ucs_net_api, udp_send, 120);
PIN_OFF(ucs_net_api, udp_local_addr, 128);
PIN_OFF(ucs_net_api, udp_close, 136);
PIN_OFF(ucs_net_api, resolve, 144);
PIN_OFF(ucs_net_api, resolve_srv, 152);
PIN_OFF(ucs_net_api, resolve_cancel, 160);
PIN_SIZE(ucs_msg_type_desc, 40);
PIN_OFF(ucs_msg_type_desc, size, 0);
PIN_OFF(ucs_msg_type_desc, name, 8);
PIN_OFF(ucs_msg_type_desc, version, 16);
PIN_OFF(ucs_msg_type_desc, payload_size, 24);
PIN_OFF(ucs_msg_type_desc, to_json, 32);
PIN_SIZE(ucs_bus_api, 176);
PIN_OFF(ucs_bus_api, size, 0);
PIN_OFF(ucs_bus_api, type_register, 8);
PIN_OFF(ucs_bus_api, type_find, 16);
PIN_OFF(ucs_bus_api, type_name, 24);
PIN_OFF(ucs_bus_api, type_version, 32);
PIN_OFF(ucs_bus_api, msg_new, 40);
PIN_OFF(ucs_bus_api, msg_ref, 48);
PIN_OFF(ucs_bus_api, msg_unref, 56);
PIN_OFF(ucs_bus_api, msg_type, 64);
PIN_OFF(ucs_bus_api, msg_payload, 72);
PIN_OFF(ucs_bus_api, msg_key, 80);
PIN_OFF(ucs_bus_api, msg_to_json, 88);
PIN_OFF(ucs_bus_api, publish, 96);
PIN_OFF(ucs_bus_api, publish_sync, 104);
PIN_OFF(ucs_bus_api, post, 112);
PIN_OFF(ucs_bus_api, subscribe, 120);
PIN_OFF(ucs_bus_api, unsubscribe, 128);
PIN_OFF(ucs_bus_api, serve, 136);
PIN_OFF(ucs_bus_api, unserve, 144);
PIN_OFF(ucs_bus_api, request, 152);
PIN_OFF(ucs_bus_api, request_cancel, 160);
PIN_OFF(ucs_bus_api, reply, 168);
PIN_SIZE(ucs_service_api, 40);
PIN_OFF(ucs_service_api, size, 0);
PIN_OFF(ucs_service_api, provide, 8);
PIN_OFF(ucs_service_api, withdraw, 16);
PIN_OFF(ucs_service_api, get, 24);
PIN_OFF(ucs_service_api, find, 32);
PIN_SIZE(ucs_cfg_key, 72);
PIN_OFF(ucs_cfg_key, size, 0);
PIN_OFF(ucs_cfg_key, name, 8);
PIN_OFF(ucs_cfg_key, type, 16);
PIN_OFF(ucs_cfg_key, flags, 20);
PIN_OFF(ucs_cfg_key, default_json, 24);
PIN_OFF(ucs_cfg_key, min, 32);
PIN_OFF(ucs_cfg_key, max, 40);
PIN_OFF(ucs_cfg_key, choices, 48);
PIN_OFF(ucs_cfg_key, fields, 56);
PIN_OFF(ucs_cfg_key, help, 64);
PIN_SIZE(ucs_cfg_api, 88);
PIN_OFF(ucs_cfg_api, size, 0);
PIN_OFF(ucs_cfg_api, section, 8);
PIN_OFF(ucs_cfg_api, get_bool, 16);
PIN_OFF(ucs_cfg_api, get_int, 24);
PIN_OFF(ucs_cfg_api, get_number, 32);
PIN_OFF(ucs_cfg_api, get_string, 40);
PIN_OFF(ucs_cfg_api, count, 48);
PIN_OFF(ucs_cfg_api, list_string, 56);
PIN_OFF(ucs_cfg_api, list_object, 64);
PIN_OFF(ucs_cfg_api, object, 72);
PIN_OFF(ucs_cfg_api, where, 80);
PIN_SIZE(ucs_env_api, 56);
PIN_OFF(ucs_env_api, size, 0);
PIN_OFF(ucs_env_api, server_name, 8);
PIN_OFF(ucs_env_api, presence_domain, 16);
PIN_OFF(ucs_env_api, state_dir, 24);
PIN_OFF(ucs_env_api, config_dir, 32);
PIN_OFF(ucs_env_api, plugin_name, 40);
PIN_OFF(ucs_env_api, version, 48);
PIN_SIZE(ucs_host, 72);
PIN_OFF(ucs_host, size, 0);
PIN_OFF(ucs_host, abi_major, 4);
PIN_OFF(ucs_host, abi_minor, 6);
PIN_OFF(ucs_host, log, 8);
PIN_OFF(ucs_host, timer, 16);
PIN_OFF(ucs_host, work, 24);
PIN_OFF(ucs_host, net, 32);
PIN_OFF(ucs_host, bus, 40);
PIN_OFF(ucs_host, service, 48);
PIN_OFF(ucs_host, cfg, 56);
PIN_OFF(ucs_host, env, 64);

PIN_SIZE(ucs_dp_number, 184);
PIN_OFF(ucs_dp_number, size, 0);
PIN_OFF(ucs_dp_number, canonical, 4);
PIN_OFF(ucs_dp_number, display, 52);
PIN_OFF(ucs_dp_number, location, 116);
PIN_OFF(ucs_dp_number, internal, 180);
PIN_SIZE(ucs_dp_dial_request, 56);
PIN_OFF(ucs_dp_dial_request, size, 0);
PIN_OFF(ucs_dp_dial_request, number, 8);
PIN_OFF(ucs_dp_dial_request, project, 16);
PIN_OFF(ucs_dp_dial_request, pin, 24);
PIN_OFF(ucs_dp_dial_request, user_id, 32);
PIN_OFF(ucs_dp_dial_request, client, 40);
PIN_OFF(ucs_dp_dial_request, at, 48);
PIN_SIZE(ucs_dp_dial_result, 388);
PIN_OFF(ucs_dp_dial_result, size, 0);
PIN_OFF(ucs_dp_dial_result, dial, 4);
PIN_OFF(ucs_dp_dial_result, postdial, 132);
PIN_OFF(ucs_dp_dial_result, canonical, 196);
PIN_OFF(ucs_dp_dial_result, project, 244);
PIN_OFF(ucs_dp_dial_result, project_info, 308);
PIN_OFF(ucs_dp_dial_result, internal, 372);
PIN_OFF(ucs_dp_dial_result, special, 376);
PIN_OFF(ucs_dp_dial_result, private_call, 380);
PIN_OFF(ucs_dp_dial_result, journal, 384);
PIN_SIZE(ucs_dialplan_api, 32);
PIN_OFF(ucs_dialplan_api, size, 0);
PIN_OFF(ucs_dialplan_api, location, 8);
PIN_OFF(ucs_dialplan_api, format, 16);
PIN_OFF(ucs_dialplan_api, dial, 24);

int main(void)
{
	int expected = 0;

#define RUN(s) (pin_size_##s(), expected++)
	RUN(ucs_phone), RUN(ucs_id), RUN(ucs_plugin_desc), RUN(ucs_log_api), RUN(ucs_timer_api),
		RUN(ucs_work_api), RUN(ucs_listen_opts), RUN(ucs_conn_handlers),
		RUN(ucs_connect_opts), RUN(ucs_srv_record), RUN(ucs_net_api),
		RUN(ucs_msg_type_desc), RUN(ucs_bus_api), RUN(ucs_service_api), RUN(ucs_cfg_key),
		RUN(ucs_cfg_api), RUN(ucs_env_api), RUN(ucs_host), RUN(ucs_dp_number),
		RUN(ucs_dp_dial_request), RUN(ucs_dp_dial_result), RUN(ucs_dialplan_api);
	printf("%d of %d struct sizes as pinned (offsets checked at compile time)\n", pins,
	       expected);
	if (UCS_ABI_MAJOR != 1) {
		printf("ABI major is %d, these pins are for 1\n", UCS_ABI_MAJOR);
		return 1;
	}
	return pins == expected ? 0 : 1;
}
