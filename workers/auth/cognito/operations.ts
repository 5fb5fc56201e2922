/** Every Cognito operation Gatehouse answers, by the name after `AWSCognitoIdentityProviderService.` in X-Amz-Target. */
import { adminAddUserToGroup, adminRemoveUserFromGroup, adminUserGlobalSignOut } from './ops/admin-groups.ts';
import {
  adminCreateUser,
  adminDeleteUser,
  adminDisableUser,
  adminEnableUser,
  adminGetUser,
  adminSetUserPassword,
  adminUpdateUserAttributes,
} from './ops/admin-users.ts';
import { initiateAuth } from './ops/initiate-auth.ts';
import { listUsers } from './ops/list-users.ts';
import { changePassword, confirmForgotPassword, forgotPassword } from './ops/passwords.ts';
import { respondToAuthChallenge } from './ops/respond-challenge.ts';
import { getUser, globalSignOut, revokeToken, updateUserAttributes } from './ops/self.ts';
import { confirmSignUp, resendConfirmationCode, signUp } from './ops/signup.ts';
import type { Operation } from './operation.ts';

/** The operation table; admin operations (`admin: true`) are refused unless SigV4-signed with a configured key. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  InitiateAuth: initiateAuth,
  RespondToAuthChallenge: respondToAuthChallenge,
  SignUp: signUp,
  ConfirmSignUp: confirmSignUp,
  ResendConfirmationCode: resendConfirmationCode,
  ForgotPassword: forgotPassword,
  ConfirmForgotPassword: confirmForgotPassword,
  ChangePassword: changePassword,
  GetUser: getUser,
  UpdateUserAttributes: updateUserAttributes,
  GlobalSignOut: globalSignOut,
  RevokeToken: revokeToken,
  AdminCreateUser: adminCreateUser,
  AdminSetUserPassword: adminSetUserPassword,
  AdminGetUser: adminGetUser,
  AdminUpdateUserAttributes: adminUpdateUserAttributes,
  AdminDeleteUser: adminDeleteUser,
  AdminDisableUser: adminDisableUser,
  AdminEnableUser: adminEnableUser,
  AdminAddUserToGroup: adminAddUserToGroup,
  AdminRemoveUserFromGroup: adminRemoveUserFromGroup,
  AdminUserGlobalSignOut: adminUserGlobalSignOut,
  ListUsers: listUsers,
};
