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
PIN_SIZE(ucs_plugin_desc, 112); /* grew in ABI 1.1 */
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
PIN_OFF(ucs_plugin_desc, status, 104);
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
PIN_SIZE(ucs_host, 80); /* grew in ABI 1.1 */
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
PIN_OFF(ucs_host, server, 72);

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
PIN_SIZE(ucs_dialplan_api, 56); /* grew in ABI 1.1 */
PIN_OFF(ucs_dialplan_api, size, 0);
PIN_OFF(ucs_dialplan_api, location, 8);
PIN_OFF(ucs_dialplan_api, format, 16);
PIN_OFF(ucs_dialplan_api, dial, 24);
PIN_OFF(ucs_dialplan_api, locations_json, 32);
PIN_OFF(ucs_dialplan_api, location_put, 40);
PIN_OFF(ucs_dialplan_api, location_remove, 48);

/* users, rights, auth, presence (issue 4) */
PIN_SIZE(ucs_rights_set, 16);
PIN_OFF(ucs_rights_set, level, 0);
PIN_OFF(ucs_rights_set, reserved, 4);
PIN_OFF(ucs_rights_set, extra, 8);
PIN_SIZE(ucs_rights_changed, 80);
PIN_OFF(ucs_rights_changed, size, 0);
PIN_OFF(ucs_rights_changed, generation, 8);
PIN_OFF(ucs_rights_changed, target, 16);
PIN_SIZE(ucs_rights_api, 72);
PIN_OFF(ucs_rights_api, size, 0);
PIN_OFF(ucs_rights_api, level_mask, 8);
PIN_OFF(ucs_rights_api, rights, 16);
PIN_OFF(ucs_rights_api, contact_fields, 24);
PIN_OFF(ucs_rights_api, services, 32);
PIN_OFF(ucs_rights_api, self_fields, 40);
PIN_OFF(ucs_rights_api, restrictions, 48);
PIN_OFF(ucs_rights_api, generation, 56);
PIN_OFF(ucs_rights_api, explain, 64);
PIN_SIZE(ucs_userdb_change, 88);
PIN_OFF(ucs_userdb_change, size, 0);
PIN_OFF(ucs_userdb_change, kind, 4);
PIN_OFF(ucs_userdb_change, op, 8);
PIN_OFF(ucs_userdb_change, generation, 16);
PIN_OFF(ucs_userdb_change, id, 24);
PIN_SIZE(ucs_ud_number, 16);
PIN_OFF(ucs_ud_number, entered, 0);
PIN_OFF(ucs_ud_number, canonical, 8);
PIN_SIZE(ucs_ud_extra_line, 16);
PIN_OFF(ucs_ud_extra_line, line, 0);
PIN_OFF(ucs_ud_extra_line, rights, 8);
PIN_SIZE(ucs_ud_grant, 24);
PIN_OFF(ucs_ud_grant, user, 0);
PIN_OFF(ucs_ud_grant, rights, 8);
PIN_SIZE(ucs_ud_user, 408);
PIN_OFF(ucs_ud_user, size, 0);
PIN_OFF(ucs_ud_user, flags, 4);
PIN_OFF(ucs_ud_user, id, 8);
PIN_OFF(ucs_ud_user, login, 16);
PIN_OFF(ucs_ud_user, identity, 24);
PIN_OFF(ucs_ud_user, first_name, 32);
PIN_OFF(ucs_ud_user, last_name, 40);
PIN_OFF(ucs_ud_user, display_name, 48);
PIN_OFF(ucs_ud_user, profile, 56);
PIN_OFF(ucs_ud_user, email, 64);
PIN_OFF(ucs_ud_user, dn, 72);
PIN_OFF(ucs_ud_user, phones, 80);
PIN_OFF(ucs_ud_user, other_numbers, 208);
PIN_OFF(ucs_ud_user, n_other_numbers, 216);
PIN_OFF(ucs_ud_user, first_phone, 224);
PIN_OFF(ucs_ud_user, second_phone, 232);
PIN_OFF(ucs_ud_user, other_lines, 240);
PIN_OFF(ucs_ud_user, n_other_lines, 248);
PIN_OFF(ucs_ud_user, extra_lines, 256);
PIN_OFF(ucs_ud_user, n_extra_lines, 264);
PIN_OFF(ucs_ud_user, title, 272);
PIN_OFF(ucs_ud_user, company, 280);
PIN_OFF(ucs_ud_user, department, 288);
PIN_OFF(ucs_ud_user, office, 296);
PIN_OFF(ucs_ud_user, street, 304);
PIN_OFF(ucs_ud_user, postal_code, 312);
PIN_OFF(ucs_ud_user, city, 320);
PIN_OFF(ucs_ud_user, state, 328);
PIN_OFF(ucs_ud_user, country, 336);
PIN_OFF(ucs_ud_user, website, 344);
PIN_OFF(ucs_ud_user, contact_image, 352);
PIN_OFF(ucs_ud_user, profile_picture, 360);
PIN_OFF(ucs_ud_user, services, 368);
PIN_OFF(ucs_ud_user, grants, 376);
PIN_OFF(ucs_ud_user, n_grants, 384);
PIN_OFF(ucs_ud_user, groups, 392);
PIN_OFF(ucs_ud_user, n_groups, 400);
PIN_SIZE(ucs_ud_key, 16);
PIN_OFF(ucs_ud_key, label, 0);
PIN_OFF(ucs_ud_key, number, 8);
PIN_SIZE(ucs_ud_group, 176);
PIN_OFF(ucs_ud_group, size, 0);
PIN_OFF(ucs_ud_group, active, 4);
PIN_OFF(ucs_ud_group, id, 8);
PIN_OFF(ucs_ud_group, name, 16);
PIN_OFF(ucs_ud_group, dn, 24);
PIN_OFF(ucs_ud_group, members, 32);
PIN_OFF(ucs_ud_group, n_members, 40);
PIN_OFF(ucs_ud_group, leader, 48);
PIN_OFF(ucs_ud_group, deputy, 56);
PIN_OFF(ucs_ud_group, services, 64);
PIN_OFF(ucs_ud_group, journal, 72);
PIN_OFF(ucs_ud_group, member_rights, 80);
PIN_OFF(ucs_ud_group, leader_rights, 96);
PIN_OFF(ucs_ud_group, monitor_groups, 112);
PIN_OFF(ucs_ud_group, n_monitor_groups, 120);
PIN_OFF(ucs_ud_group, favourite_groups, 128);
PIN_OFF(ucs_ud_group, n_favourite_groups, 136);
PIN_OFF(ucs_ud_group, keys, 144);
PIN_OFF(ucs_ud_group, n_keys, 152);
PIN_OFF(ucs_ud_group, call_group, 160);
PIN_OFF(ucs_ud_group, ringing, 164);
PIN_OFF(ucs_ud_group, call_number, 168);
PIN_SIZE(ucs_ud_computer, 80);
PIN_OFF(ucs_ud_computer, size, 0);
PIN_OFF(ucs_ud_computer, authorised_only, 4);
PIN_OFF(ucs_ud_computer, id, 8);
PIN_OFF(ucs_ud_computer, name, 16);
PIN_OFF(ucs_ud_computer, dn, 24);
PIN_OFF(ucs_ud_computer, first_phone, 32);
PIN_OFF(ucs_ud_computer, second_phone, 40);
PIN_OFF(ucs_ud_computer, lines, 48);
PIN_OFF(ucs_ud_computer, n_lines, 56);
PIN_OFF(ucs_ud_computer, last_logon, 64);
PIN_OFF(ucs_ud_computer, last_user, 72);
PIN_SIZE(ucs_ud_profile, 40);
PIN_OFF(ucs_ud_profile, size, 0);
PIN_OFF(ucs_ud_profile, id, 8);
PIN_OFF(ucs_ud_profile, name, 16);
PIN_OFF(ucs_ud_profile, description, 24);
PIN_OFF(ucs_ud_profile, settings_json, 32);
PIN_SIZE(ucs_ud_settings, 56);
PIN_OFF(ucs_ud_settings, size, 0);
PIN_OFF(ucs_ud_settings, flags, 4);
PIN_OFF(ucs_ud_settings, restrictions, 8);
PIN_OFF(ucs_ud_settings, reserved, 12);
PIN_OFF(ucs_ud_settings, services, 16);
PIN_OFF(ucs_ud_settings, rights, 24);
PIN_OFF(ucs_ud_settings, monitor_rights, 40);
PIN_SIZE(ucs_ud_snapshot, 104);
PIN_OFF(ucs_ud_snapshot, size, 0);
PIN_OFF(ucs_ud_snapshot, generation, 8);
PIN_OFF(ucs_ud_snapshot, store, 16);
PIN_OFF(ucs_ud_snapshot, write_back, 24);
PIN_OFF(ucs_ud_snapshot, users, 32);
PIN_OFF(ucs_ud_snapshot, n_users, 40);
PIN_OFF(ucs_ud_snapshot, groups, 48);
PIN_OFF(ucs_ud_snapshot, n_groups, 56);
PIN_OFF(ucs_ud_snapshot, computers, 64);
PIN_OFF(ucs_ud_snapshot, n_computers, 72);
PIN_OFF(ucs_ud_snapshot, profiles, 80);
PIN_OFF(ucs_ud_snapshot, n_profiles, 88);
PIN_OFF(ucs_ud_snapshot, settings, 96);
PIN_SIZE(ucs_ud_status, 296);
PIN_OFF(ucs_ud_status, size, 0);
PIN_OFF(ucs_ud_status, online, 4);
PIN_OFF(ucs_ud_status, limit_hit, 8);
PIN_OFF(ucs_ud_status, reserved, 12);
PIN_OFF(ucs_ud_status, last_sync, 16);
PIN_OFF(ucs_ud_status, syncs, 24);
PIN_OFF(ucs_ud_status, failures, 32);
PIN_OFF(ucs_ud_status, message, 40);
PIN_SIZE(ucs_userdb_api, 128);
PIN_OFF(ucs_userdb_api, size, 0);
PIN_OFF(ucs_userdb_api, acquire, 8);
PIN_OFF(ucs_userdb_api, release, 16);
PIN_OFF(ucs_userdb_api, user, 24);
PIN_OFF(ucs_userdb_api, user_by_login, 32);
PIN_OFF(ucs_userdb_api, group, 40);
PIN_OFF(ucs_userdb_api, computer, 48);
PIN_OFF(ucs_userdb_api, profile, 56);
PIN_OFF(ucs_userdb_api, get_json, 64);
PIN_OFF(ucs_userdb_api, put_json, 72);
PIN_OFF(ucs_userdb_api, remove, 80);
PIN_OFF(ucs_userdb_api, password_hash, 88);
PIN_OFF(ucs_userdb_api, set_password_hash, 96);
PIN_OFF(ucs_userdb_api, computer_logon, 104);
PIN_OFF(ucs_userdb_api, set_picture, 112);
PIN_OFF(ucs_userdb_api, status, 120);
PIN_SIZE(ucs_auth_request, 48);
PIN_OFF(ucs_auth_request, size, 0);
PIN_OFF(ucs_auth_request, kind, 4);
PIN_OFF(ucs_auth_request, login, 8);
PIN_OFF(ucs_auth_request, password, 16);
PIN_OFF(ucs_auth_request, password_len, 24);
PIN_OFF(ucs_auth_request, peer, 32);
PIN_OFF(ucs_auth_request, via, 40);
PIN_SIZE(ucs_auth_result, 92);
PIN_OFF(ucs_auth_result, size, 0);
PIN_OFF(ucs_auth_result, status, 4);
PIN_OFF(ucs_auth_result, retry_after_ms, 8);
PIN_OFF(ucs_auth_result, user, 12);
PIN_OFF(ucs_auth_result, method, 76);
PIN_SIZE(ucs_auth_event, 168);
PIN_OFF(ucs_auth_event, size, 0);
PIN_OFF(ucs_auth_event, kind, 4);
PIN_OFF(ucs_auth_event, login, 8);
PIN_OFF(ucs_auth_event, address, 72);
PIN_OFF(ucs_auth_event, via, 136);
PIN_SIZE(ucs_auth_api, 56); /* grew in ABI 1.1 */
PIN_OFF(ucs_auth_api, size, 0);
PIN_OFF(ucs_auth_api, login, 8);
PIN_OFF(ucs_auth_api, cancel, 16);
PIN_OFF(ucs_auth_api, set_password, 24);
PIN_OFF(ucs_auth_api, release, 32);
PIN_OFF(ucs_auth_api, set_admin_accounts, 40);
PIN_OFF(ucs_auth_api, admin_count, 48);
PIN_SIZE(ucs_presence_login, 144);
PIN_OFF(ucs_presence_login, size, 0);
PIN_OFF(ucs_presence_login, logged_in, 4);
PIN_OFF(ucs_presence_login, idle, 8);
PIN_OFF(ucs_presence_login, reserved, 12);
PIN_OFF(ucs_presence_login, user, 16);
PIN_OFF(ucs_presence_login, session, 80);
PIN_SIZE(ucs_presence_line, 344);
PIN_OFF(ucs_presence_line, size, 0);
PIN_OFF(ucs_presence_line, state, 4);
PIN_OFF(ucs_presence_line, direction, 8);
PIN_OFF(ucs_presence_line, forwarding, 12);
PIN_OFF(ucs_presence_line, dnd, 16);
PIN_OFF(ucs_presence_line, reserved, 20);
PIN_OFF(ucs_presence_line, line, 24);
PIN_OFF(ucs_presence_line, internal, 88);
PIN_OFF(ucs_presence_line, canonical, 136);
PIN_OFF(ucs_presence_line, remote, 184);
PIN_OFF(ucs_presence_line, remote_name, 232);
PIN_OFF(ucs_presence_line, fwd_target, 296);
PIN_SIZE(ucs_presence_calendar, 288);
PIN_OFF(ucs_presence_calendar, size, 0);
PIN_OFF(ucs_presence_calendar, kind, 4);
PIN_OFF(ucs_presence_calendar, private_, 8);
PIN_OFF(ucs_presence_calendar, reserved, 12);
PIN_OFF(ucs_presence_calendar, start, 16);
PIN_OFF(ucs_presence_calendar, end, 24);
PIN_OFF(ucs_presence_calendar, user, 32);
PIN_OFF(ucs_presence_calendar, subject, 96);
PIN_OFF(ucs_presence_calendar, place, 224);
PIN_SIZE(ucs_presence_av, 136);
PIN_OFF(ucs_presence_av, size, 0);
PIN_OFF(ucs_presence_av, busy, 4);
PIN_OFF(ucs_presence_av, user, 8);
PIN_OFF(ucs_presence_av, with, 72);
PIN_SIZE(ucs_presence_line_view, 296);
PIN_OFF(ucs_presence_line_view, line, 0);
PIN_OFF(ucs_presence_line_view, line_class, 64);
PIN_OFF(ucs_presence_line_view, state, 68);
PIN_OFF(ucs_presence_line_view, direction, 72);
PIN_OFF(ucs_presence_line_view, forwarding, 76);
PIN_OFF(ucs_presence_line_view, dnd, 80);
PIN_OFF(ucs_presence_line_view, reserved, 84);
PIN_OFF(ucs_presence_line_view, number, 88);
PIN_OFF(ucs_presence_line_view, remote, 136);
PIN_OFF(ucs_presence_line_view, remote_name, 184);
PIN_OFF(ucs_presence_line_view, fwd_target, 248);
PIN_SIZE(ucs_presence, 1816);
PIN_OFF(ucs_presence, size, 0);
PIN_OFF(ucs_presence, state, 4);
PIN_OFF(ucs_presence, reason, 8);
PIN_OFF(ucs_presence, manual, 12);
PIN_OFF(ucs_presence, av_busy, 16);
PIN_OFF(ucs_presence, calendar, 20);
PIN_OFF(ucs_presence, calendar_private, 24);
PIN_OFF(ucs_presence, n_lines, 28);
PIN_OFF(ucs_presence, calendar_end, 32);
PIN_OFF(ucs_presence, since, 40);
PIN_OFF(ucs_presence, seq, 48);
PIN_OFF(ucs_presence, user, 56);
PIN_OFF(ucs_presence, av_with, 120);
PIN_OFF(ucs_presence, note, 184);
PIN_OFF(ucs_presence, subject, 440);
PIN_OFF(ucs_presence, place, 568);
PIN_OFF(ucs_presence, lines, 632);
PIN_SIZE(ucs_presence_view, 1896);
PIN_OFF(ucs_presence_view, size, 0);
PIN_OFF(ucs_presence_view, contact_fields, 4);
PIN_OFF(ucs_presence_view, rights, 8);
PIN_OFF(ucs_presence_view, watcher, 16);
PIN_OFF(ucs_presence_view, presence, 80);
PIN_SIZE(ucs_presence_api, 56);
PIN_OFF(ucs_presence_api, size, 0);
PIN_OFF(ucs_presence_api, watch, 8);
PIN_OFF(ucs_presence_api, unwatch, 16);
PIN_OFF(ucs_presence_api, get, 24);
PIN_OFF(ucs_presence_api, set, 32);
PIN_OFF(ucs_presence_api, lines, 40);
PIN_OFF(ucs_presence_api, owners, 48);

/* ucs/lines.h and ucs/server.h (ABI 1.1) */
PIN_SIZE(ucs_number, 112);
PIN_OFF(ucs_number, canonical, 0);
PIN_OFF(ucs_number, display, 48);
PIN_SIZE(ucs_line_info, 928);
PIN_OFF(ucs_line_info, size, 0);
PIN_OFF(ucs_line_info, status, 4);
PIN_OFF(ucs_line_info, caps, 8);
PIN_OFF(ucs_line_info, dnd, 16);
PIN_OFF(ucs_line_info, private_line, 20);
PIN_OFF(ucs_line_info, trunk, 24);
PIN_OFF(ucs_line_info, fwd_on, 28);
PIN_OFF(ucs_line_info, reserved, 40);
PIN_OFF(ucs_line_info, id, 44);
PIN_OFF(ucs_line_info, internal, 108);
PIN_OFF(ucs_line_info, number, 156);
PIN_OFF(ucs_line_info, fwd_to, 268);
PIN_OFF(ucs_line_info, name, 604);
PIN_OFF(ucs_line_info, group, 668);
PIN_OFF(ucs_line_info, location, 732);
PIN_OFF(ucs_line_info, reason, 796);
PIN_SIZE(ucs_call_info, 584);
PIN_OFF(ucs_call_info, size, 0);
PIN_OFF(ucs_call_info, event, 4);
PIN_OFF(ucs_call_info, state, 8);
PIN_OFF(ucs_call_info, direction, 12);
PIN_OFF(ucs_call_info, internal, 16);
PIN_OFF(ucs_call_info, private_call, 20);
PIN_OFF(ucs_call_info, started_ms, 24);
PIN_OFF(ucs_call_info, connected_ms, 32);
PIN_OFF(ucs_call_info, call, 40);
PIN_OFF(ucs_call_info, line, 104);
PIN_OFF(ucs_call_info, remote, 168);
PIN_OFF(ucs_call_info, remote_name, 280);
PIN_OFF(ucs_call_info, diverted_from, 344);
PIN_OFF(ucs_call_info, project, 456);
PIN_OFF(ucs_call_info, cause, 520);
PIN_SIZE(ucs_call_control, 656);
PIN_OFF(ucs_call_control, size, 0);
PIN_OFF(ucs_call_control, op, 4);
PIN_OFF(ucs_call_control, mode, 8);
PIN_OFF(ucs_call_control, on, 12);
PIN_OFF(ucs_call_control, actor, 16);
PIN_OFF(ucs_call_control, line, 80);
PIN_OFF(ucs_call_control, call, 144);
PIN_OFF(ucs_call_control, other_call, 208);
PIN_OFF(ucs_call_control, target_line, 272);
PIN_OFF(ucs_call_control, target_user, 336);
PIN_OFF(ucs_call_control, number, 400);
PIN_OFF(ucs_call_control, project, 528);
PIN_OFF(ucs_call_control, digits, 592);
PIN_SIZE(ucs_call_control_result, 200);
PIN_OFF(ucs_call_control_result, size, 0);
PIN_OFF(ucs_call_control_result, status, 4);
PIN_OFF(ucs_call_control_result, call, 8);
PIN_OFF(ucs_call_control_result, reason, 72);
PIN_SIZE(ucs_lines_api, 40);
PIN_OFF(ucs_lines_api, size, 0);
PIN_OFF(ucs_lines_api, line, 8);
PIN_OFF(ucs_lines_api, line_by_number, 16);
PIN_OFF(ucs_lines_api, calls, 24);
PIN_OFF(ucs_lines_api, list, 32);
PIN_SIZE(ucs_server_event, 1080);
PIN_OFF(ucs_server_event, size, 0);
PIN_OFF(ucs_server_event, level, 4);
PIN_OFF(ucs_server_event, seq, 8);
PIN_OFF(ucs_server_event, time_ms, 16);
PIN_OFF(ucs_server_event, tag, 24);
PIN_OFF(ucs_server_event, text, 56);
PIN_SIZE(ucs_server_api, 72);
PIN_OFF(ucs_server_api, size, 0);
PIN_OFF(ucs_server_api, started_ms, 8);
PIN_OFF(ucs_server_api, events, 16);
PIN_OFF(ucs_server_api, plugins, 24);
PIN_OFF(ucs_server_api, config, 32);
PIN_OFF(ucs_server_api, config_file, 40);
PIN_OFF(ucs_server_api, check, 48);
PIN_OFF(ucs_server_api, apply, 56);
PIN_OFF(ucs_server_api, restart, 64);

int main(void)
{
	int expected = 0;

#define RUN(s) (pin_size_##s(), expected++)
	RUN(ucs_phone), RUN(ucs_id), RUN(ucs_plugin_desc), RUN(ucs_log_api), RUN(ucs_timer_api),
		RUN(ucs_work_api), RUN(ucs_listen_opts), RUN(ucs_conn_handlers),
		RUN(ucs_connect_opts), RUN(ucs_srv_record), RUN(ucs_net_api),
		RUN(ucs_msg_type_desc), RUN(ucs_bus_api), RUN(ucs_service_api), RUN(ucs_cfg_key),
		RUN(ucs_cfg_api), RUN(ucs_env_api), RUN(ucs_host), RUN(ucs_dp_number),
		RUN(ucs_dp_dial_request), RUN(ucs_dp_dial_result), RUN(ucs_dialplan_api),
		RUN(ucs_rights_set), RUN(ucs_rights_changed), RUN(ucs_rights_api),
		RUN(ucs_userdb_change), RUN(ucs_ud_number), RUN(ucs_ud_extra_line),
		RUN(ucs_ud_grant), RUN(ucs_ud_user), RUN(ucs_ud_key), RUN(ucs_ud_group),
		RUN(ucs_ud_computer), RUN(ucs_ud_profile), RUN(ucs_ud_settings),
		RUN(ucs_ud_snapshot), RUN(ucs_ud_status), RUN(ucs_userdb_api),
		RUN(ucs_auth_request), RUN(ucs_auth_result), RUN(ucs_auth_event), RUN(ucs_auth_api),
		RUN(ucs_presence_login), RUN(ucs_presence_line), RUN(ucs_presence_calendar),
		RUN(ucs_presence_av), RUN(ucs_presence_line_view), RUN(ucs_presence),
		RUN(ucs_presence_view), RUN(ucs_presence_api), RUN(ucs_number),
		RUN(ucs_line_info), RUN(ucs_call_info), RUN(ucs_call_control),
		RUN(ucs_call_control_result), RUN(ucs_lines_api), RUN(ucs_server_event),
		RUN(ucs_server_api);
	printf("%d of %d struct sizes as pinned (offsets checked at compile time)\n", pins,
	       expected);
	if (UCS_ABI_MAJOR != 1) {
		printf("ABI major is %d, these pins are for 1\n", UCS_ABI_MAJOR);
		return 1;
	}
	return pins == expected ? 0 : 1;
}
