/*
 * pop3ctl audit: creating the audit writer's chain state and verifying
 * audit files with the operator's verification key (common/audit_chain.c).
 */
#ifndef POP3D_POP3CTL_AUDIT_H
#define POP3D_POP3CTL_AUDIT_H

/*
 * argv[0] is "init" or "verify".  Returns the exit status: 0 success,
 * 1 failure (a file that does not verify, a state file that exists); bad
 * usage exits 2 from here.
 */
int	ctl_audit(int, char **);

#endif
